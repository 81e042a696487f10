package resultstore

import (
	"fmt"
	"os"
)

// MinFreeBytes is the free space CheckWritable requires. Documents are small,
// but step logs and exported cluster logs are not, and a drill that fails
// halfway for lack of space leaves no evidence of what it was doing.
const MinFreeBytes = 10 << 20

// CheckWritable makes sure dir can take a drill's results before anything is
// provisioned: it creates the folder if missing, writes, syncs and removes a
// probe file, and checks that at least MinFreeBytes are free. Every failure
// is a *NotWritableError, which the CLI maps to exit code 3.
func CheckWritable(dir string) error {
	return checkWritable(dir, MinFreeBytes)
}

func checkWritable(dir string, minFree uint64) error {
	fail := func(err error) error { return &NotWritableError{Dir: dir, Err: err} }
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(fmt.Errorf("create folder: %w", err))
	}
	f, err := os.CreateTemp(dir, ".drill-probe-*")
	if err != nil {
		return fail(fmt.Errorf("create probe file: %w", err))
	}
	_, werr := f.WriteString("drill probe\n")
	if werr == nil {
		werr = f.Sync()
	}
	cerr := f.Close()
	rerr := os.Remove(f.Name())
	switch {
	case werr != nil:
		return fail(fmt.Errorf("write probe file: %w", werr))
	case cerr != nil:
		return fail(fmt.Errorf("close probe file: %w", cerr))
	case rerr != nil:
		return fail(fmt.Errorf("remove probe file: %w", rerr))
	}
	free, known, err := freeBytes(dir)
	if err != nil {
		return fail(err)
	}
	if known && free < minFree {
		return fail(fmt.Errorf("%w: %d KiB free, need at least %d KiB", ErrLowSpace, free>>10, minFree>>10))
	}
	return nil
}
