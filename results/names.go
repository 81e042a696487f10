package results

import (
	"fmt"
	"slices"
	"strings"
)

// RunIDTimeLayout is the time layout of a run ID's first part, the UTC
// start second (20261127T071500Z), so IDs sort by start time as plain
// strings; 6 random hex digits follow it.
const RunIDTimeLayout = "20060102T150405Z"

// CheckScenarioName returns an error wrapping ErrInvalidRun when name cannot
// be a scenario of a results folder: empty, hidden, not a single file name,
// longer than 200 bytes, or a name the folder reserves (index.json and its
// lock). A reader that takes names from outside (a URL, a command line)
// checks them with it before asking the Store, so that a bad name is "no
// such scenario" rather than a failure.
func CheckScenarioName(name string) error {
	return checkName("scenario name", name, IndexFile, IndexLockFile)
}

// CheckRunID returns an error wrapping ErrInvalidRun when id cannot be a run
// ID: as CheckScenarioName, and "latest" is reserved (latest.json is the copy
// of the newest finished run, not a run).
func CheckRunID(id string) error {
	return checkName("run ID", id, "latest")
}

// checkName rejects names that cannot safely name a file or folder of the
// store: empty, hidden (temporary files are hidden), path separators, or a
// name that would collide with the store's own files.
func checkName(what, name string, reserved ...string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalidRun, what)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("%w: %s %q starts with a dot", ErrInvalidRun, what, name)
	case strings.ContainsAny(name, "/\\\x00"), len(name) > 200:
		return fmt.Errorf("%w: %s %q is not a valid file name", ErrInvalidRun, what, name)
	case slices.Contains(reserved, name):
		return fmt.Errorf("%w: %s %q is reserved", ErrInvalidRun, what, name)
	}
	return nil
}
