package resultstore

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data so that a reader sees either the
// old or the new content, never a mix: the data goes to a hidden temporary
// file in the same folder (rename is only atomic within one file system),
// is flushed to disk, then renamed over path. The folder is synced too, so
// the rename itself survives a power cut. On any failure the temporary file
// is removed.
func writeFileAtomic(path string, data []byte) error {
	return writeFileAtomicFunc(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeFileAtomicFunc is writeFileAtomic for content that write streams,
// so a large file need not be held in memory.
func writeFileAtomicFunc(path string, write func(w io.Writer) error) error {
	return replaceFile(path, write, true)
}

// writeFileAtomicNoSync replaces path with data atomically, like
// writeFileAtomic, but does not flush it to disk: a reader or a process
// killed at any moment still sees a whole file, only a power cut or a kernel
// crash may lose the newest content. It is for snapshots that a synced write
// supersedes later, where two fsyncs per write would dominate the cost.
// Where it can, it trades places with a spare file instead of creating one
// (exchangeFile).
func writeFileAtomicNoSync(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create folder: %w", err)
	}
	if exchangeFile(path, data) {
		return nil
	}
	return replaceFile(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, false)
}

func replaceFile(path string, write func(w io.Writer) error, durable bool) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create folder: %w", err)
	}
	// The leading dot and the missing .json suffix keep listings from ever
	// picking up a temporary file.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("write temporary file: %w", err)
	}
	// CreateTemp makes the file private; result documents are meant to be
	// read by dashboards running as other users.
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod temporary file: %w", err)
	}
	if durable {
		if err = f.Sync(); err != nil {
			return fmt.Errorf("sync temporary file: %w", err)
		}
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	if durable {
		// The snapshots' spare (exchangeFile) is not needed once the
		// document is final; best effort, it is hidden anyway.
		_ = os.Remove(sparePath(path))
		syncDir(dir)
	}
	return nil
}

// sparePath is the spare of exchangeFile, beside path: hidden and without
// the .json suffix, so that no listing reads it. Every system names it, so
// that a synced write removes one wherever it came from.
func sparePath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".spare")
}

// syncDir flushes a folder's entries. It is best effort: some systems cannot
// open or sync folders, and the file's content is already safe.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
