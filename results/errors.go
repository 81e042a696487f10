package results

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrUnsupportedVersion means a document's apiVersion is not drill/v1:
	// a newer drill wrote it, or it is not a drill document at all.
	ErrUnsupportedVersion = errors.New("unsupported apiVersion")
	// ErrWrongKind means a document has the right version but another kind
	// (an index where a run was expected, for example).
	ErrWrongKind = errors.New("wrong document kind")
	// ErrInvalidRun means a run cannot be stored because a field that names
	// its files (scenario name, run ID) is missing or unsafe as a file name.
	ErrInvalidRun = errors.New("invalid run")
	// ErrNoRuns means a scenario has no finished run yet.
	ErrNoRuns = errors.New("no finished runs")
)

// DocumentError is returned when a result document cannot be read or
// decoded. Err is the cause: a *json.SyntaxError for a damaged or truncated
// file, ErrUnsupportedVersion, ErrWrongKind, or a file system error.
type DocumentError struct {
	Path string
	Err  error
}

func (e *DocumentError) Error() string { return fmt.Sprintf("read %s: %v", e.Path, e.Err) }
func (e *DocumentError) Unwrap() error { return e.Err }

// Warning reports a document that a listing skipped. Listings never fail
// because one file is damaged: a half-written file from a crashed machine
// must not hide the rest of the history.
type Warning struct {
	Path string
	Err  error
}

func (w Warning) Error() string { return fmt.Sprintf("skipped %s: %v", w.Path, w.Err) }
func (w Warning) Unwrap() error { return w.Err }
