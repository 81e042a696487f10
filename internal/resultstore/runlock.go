package resultstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// BusyError says that another drill is running the same scenario, or that
// another drill gc is cleaning up the same results folder.
type BusyError struct {
	Scenario string `json:"scenario,omitempty"`
	RunID    string `json:"runId,omitempty"`
	Pid      int    `json:"pid,omitempty"`
	// Host is set when the holder runs on another machine (a lock in an
	// object store).
	Host string `json:"host,omitempty"`
	// What is "gc" for the gc lock, empty for a scenario's run lock.
	What string `json:"what,omitempty"`
}

func (e *BusyError) Error() string {
	pid := fmt.Sprintf("pid %d", e.Pid)
	if e.Host != "" {
		pid += " on " + e.Host
	}
	switch {
	case e.What == "gc":
		return fmt.Sprintf("another drill gc (%s) is cleaning up this results folder", pid)
	case e.RunID == "":
		return fmt.Sprintf("scenario %s is already running in another drill", e.Scenario)
	}
	return fmt.Sprintf("scenario %s is already running: run %s (%s)", e.Scenario, e.RunID, pid)
}

// lockDirs are where drill keeps its locks, the first that is a writable
// folder. Not under the results folder: removing files there (the lock
// file, or the whole folder, by hand or by a cleanup job) must not let a
// second drill take a lock that a running drill holds. A lock is an flock
// on a file that nobody but drill has a reason to touch.
var lockDirs = []string{"/run/lock", "/var/lock", "/tmp"}

// lockDir returns the folder for drill's lock files; DRILL_LOCK_DIR
// overrides it (a container with a read-only /run, tests).
func lockDir() string {
	if d := os.Getenv("DRILL_LOCK_DIR"); d != "" {
		return d
	}
	for _, d := range lockDirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && writableDir(d) {
			return d
		}
	}
	return os.TempDir()
}

// lockPath names the lock file of one thing (a scenario, "gc") of this
// results folder. The folder is named by its absolute path with symlinks
// resolved, hashed, so two drills reaching one folder by different paths
// share the lock, and a folder removed and made again keeps it.
func (s *Store) lockPath(what string) string {
	dir, err := filepath.Abs(s.Dir)
	if err != nil {
		dir = s.Dir
	}
	sum := sha256.Sum256([]byte(realPath(dir)))
	return filepath.Join(lockDir(), fmt.Sprintf("drill-%s-%s.lock", hex.EncodeToString(sum[:8]), what))
}

// realPath resolves the symlinks of path's deepest existing ancestor and
// keeps the rest as it is: a results folder that was removed (or is not
// made yet) names the same lock as when it exists, even when its parent is
// reached through a symlink (macOS's /var is /private/var).
func realPath(path string) string {
	rest := ""
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(real, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return path
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}

func (s *Store) runLockPath(scenario string) string { return s.lockPath("run-" + scenario) }

func (s *Store) gcLockPath() string { return s.lockPath("gc") }
