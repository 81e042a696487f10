//go:build linux || darwin || freebsd

package resultstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// LockScenario takes the scenario's run lock so that only one drill runs a
// scenario at a time: two runs would fight over ports, clusters and state.
// The lock is an flock, so it dies with the process (kill -9 included) and
// never goes stale; it lives outside the results folder (see lockDirs).
// Busy: without wait, a *BusyError naming the holder; with wait, it polls
// until the lock is free or ctx ends.
func (s *Store) LockScenario(ctx context.Context, scenario, runID string, wait bool) (release func(), err error) {
	release, err = flockPath(ctx, s.runLockPath(scenario), wait, BusyError{Scenario: scenario, RunID: runID, Pid: os.Getpid()})
	return s.withRemoteLock(release, err, func() (func(), error) { return s.remote.LockScenario(ctx, scenario, runID, wait) })
}

// LockGC takes the results folder's gc lock, so two drill gc never destroy
// the same state at once. Busy: without wait, a *BusyError; with wait, it
// polls until the lock is free or ctx ends.
func (s *Store) LockGC(ctx context.Context, wait bool) (release func(), err error) {
	release, err = flockPath(ctx, s.gcLockPath(), wait, BusyError{What: "gc", Pid: os.Getpid()})
	return s.withRemoteLock(release, err, func() (func(), error) { return s.remote.LockGC(ctx, wait) })
}

// flockPath takes an exclusive flock on path and writes holder into it, for
// the error of the next process that tries. A busy lock is a *BusyError
// read from the file; a wait that ctx ended returns context.Cause(ctx); any
// other failure names path.
func flockPath(ctx context.Context, path string, wait bool, holder BusyError) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// Anyone may run drill: a lock file made by one user must not stop
	// another from taking it (the sticky /run/lock keeps it theirs).
	_ = f.Chmod(0o666)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !wait {
			busy := &BusyError{Scenario: holder.Scenario, What: holder.What}
			if data, rerr := os.ReadFile(path); rerr == nil {
				_ = json.Unmarshal(data, busy)
			}
			busy.Scenario, busy.What = holder.Scenario, holder.What
			f.Close()
			return nil, busy
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, context.Cause(ctx)
		case <-t.C:
		}
	}
	data, _ := json.Marshal(holder)
	_ = f.Truncate(0)
	_, _ = f.WriteAt(data, 0)
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// writableDir reports whether this process may create files in dir.
func writableDir(dir string) bool {
	return syscall.Access(dir, 2 /* W_OK */) == nil
}

// lockNotify waits for the flock of a scenario's notification memory.
func (s *Store) lockNotify(ctx context.Context, path string) (func(), error) {
	return flockPath(ctx, path, true, BusyError{What: "notify", Pid: os.Getpid()})
}
