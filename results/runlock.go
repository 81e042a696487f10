package results

import (
	"fmt"
	"path/filepath"
)

// RunLockFile is the per-scenario lock a running drill holds.
const RunLockFile = ".run.lock"

// BusyError says that another drill is running the same scenario.
type BusyError struct {
	Scenario string
	RunID    string
	Pid      int
}

func (e *BusyError) Error() string {
	if e.RunID == "" {
		return fmt.Sprintf("scenario %s is already running in another drill", e.Scenario)
	}
	return fmt.Sprintf("scenario %s is already running: run %s (pid %d)", e.Scenario, e.RunID, e.Pid)
}

func (s *Store) runLockPath(scenario string) string {
	return filepath.Join(s.Dir, scenario, RunLockFile)
}
