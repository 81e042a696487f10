// Package safeio reads the files of a results folder without trusting
// them: a FIFO, a device or a huge file where a document should be is
// refused instead of hanging or exhausting the reader. Both the public
// results package (ReadRun) and the store use it.
package safeio

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

// MaxDocumentSize bounds what readers read of one document or ledger: a
// real one is a few hundred kilobytes at most.
const MaxDocumentSize = 256 << 20

// OpenRegular opens path for reading only when it is a regular file
// (following symlinks; a symlink loop is an error). It opens without
// blocking, so a FIFO swapped in between the check and the open cannot hang
// the reader, and checks the opened file again.
func OpenRegular(path string) (*os.File, error) {
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

// ReadRegular is os.ReadFile for a regular file only (see OpenRegular).
func ReadRegular(path string) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxDocumentSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("%s is larger than %d MiB: not a drill document", path, MaxDocumentSize>>20)
	}
	return data, nil
}
