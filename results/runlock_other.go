//go:build !(linux || darwin || freebsd)

package results

import "context"

// LockScenario is a no-op where flock is missing: one run per scenario is
// then the operator's job.
func (s *Store) LockScenario(ctx context.Context, scenario, runID string, wait bool) (func(), error) {
	return func() {}, nil
}

// LockGC is a no-op where flock is missing.
func (s *Store) LockGC(ctx context.Context, wait bool) (func(), error) {
	return func() {}, nil
}

func writableDir(string) bool { return true }
