//go:build linux || darwin || freebsd

package results

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
// never goes stale. Busy: without wait, a *BusyError naming the holder; with
// wait, it polls until the lock is free or ctx ends.
func (s *Store) LockScenario(ctx context.Context, scenario, runID string, wait bool) (release func(), err error) {
	path := s.runLockPath(scenario)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock scenario %s: %w", scenario, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock scenario %s: %w", scenario, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock scenario %s: %w", scenario, err)
		}
		if !wait {
			busy := &BusyError{Scenario: scenario}
			if data, rerr := os.ReadFile(path); rerr == nil {
				_ = json.Unmarshal(data, busy)
			}
			busy.Scenario = scenario
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
	// Say who holds it, for the error of the next drill that tries.
	holder, _ := json.Marshal(BusyError{Scenario: scenario, RunID: runID, Pid: os.Getpid()})
	_ = f.Truncate(0)
	_, _ = f.WriteAt(holder, 0)
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
