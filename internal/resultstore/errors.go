package resultstore

import (
	"errors"
	"fmt"
)

// Sentinel errors of the store, besides the results package's.
var (
	// ErrNotFinished means FinishRun got a run whose status is still running:
	// the index and latest.json only ever describe finished runs.
	ErrNotFinished = errors.New("run is not finished")
	// ErrLowSpace means the results folder's file system has less free space
	// than a drill needs to record its evidence.
	ErrLowSpace = errors.New("not enough free space")
)

// NotWritableError is returned by CheckWritable when the results folder
// cannot take a drill's documents. The CLI maps it to exit code 3 before
// anything is provisioned.
type NotWritableError struct {
	Dir string
	Err error
}

func (e *NotWritableError) Error() string {
	return fmt.Sprintf("results folder %s is not writable: %v", e.Dir, e.Err)
}
func (e *NotWritableError) Unwrap() error { return e.Err }
