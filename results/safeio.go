package results

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotRegular means a path where drill expects a file (a document, a
// history, a ledger) holds something else: a folder, a FIFO, a device, a
// socket. Reading a FIFO would block a reader forever and a device could
// stream without end, so readers refuse them and warn instead.
var ErrNotRegular = errors.New("not a regular file")

// maxDocumentSize bounds what readers read of one document or ledger: a
// real one is a few hundred kilobytes at most.
const maxDocumentSize = 256 << 20

// openRegular opens path for reading only when it is a regular file
// (following symlinks; a symlink loop is an error). It opens without
// blocking, so a FIFO swapped in between the check and the open cannot hang
// the reader, and checks the opened file again.
func openRegular(path string) (*os.File, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type())}
	}
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type())}
	}
	return f, nil
}

// readRegular is os.ReadFile for a regular file only (see openRegular).
func readRegular(path string) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDocumentSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDocumentSize {
		return nil, fmt.Errorf("%s is larger than %d MiB: not a drill document", path, maxDocumentSize>>20)
	}
	return data, nil
}
