package resultstore

import (
	"context"
	"path/filepath"
)

// Remote is where a Store's results really live when they are kept in
// object storage (drill's internal/objectstore): the Store then works in a
// local mirror folder (Dir), and the Remote copies to the bucket what the
// Store writes and holds the run locks across machines. The interface keeps
// this package free of any cloud library.
type Remote interface {
	// Publish tells the remote that the file or folder rel (relative to
	// Dir) was written and is to be copied to the bucket. It never
	// blocks on the network: a store that is down buffers it.
	Publish(rel string)
	// LockScenario and LockGC take the lock in the bucket, on top of the
	// local one, so runners on other machines see it; a lock another
	// drill holds is a *BusyError.
	LockScenario(ctx context.Context, scenario, runID string, wait bool) (release func(), err error)
	LockGC(ctx context.Context, wait bool) (release func(), err error)
	// RunHeld tells whether run runID of scenario still holds the
	// scenario's lock in the bucket: how a running document written on
	// another machine is told alive from dead. known is false when the
	// store cannot tell.
	RunHeld(ctx context.Context, scenario, runID string) (held, known bool)
	// Warnings are what a run document must say about the store (it was
	// unreachable for a while, a lock was lost), added by FinishRun.
	Warnings() []string
	// String is the store's URL, as the operator gave it (for messages
	// such as `drill gc --results URL`).
	String() string
}

// WithRemote returns a Store over the same mirror folder that publishes
// every document, ledger and run folder it writes to r and takes r's locks
// as well as its own.
func (s *Store) WithRemote(r Remote) *Store {
	c := *s
	c.remote = r
	return &c
}

// Location is where the results are, for the operator: the URL of a store
// in object storage, else the folder.
func (s *Store) Location() string {
	if s.remote != nil {
		return s.remote.String()
	}
	return s.Dir
}

// RunHeld asks the store in object storage, if any, whether a run still
// holds its scenario's lock there (see Remote.RunHeld); known is false for
// a folder.
func (s *Store) RunHeld(ctx context.Context, scenario, runID string) (held, known bool) {
	if s.remote == nil {
		return false, false
	}
	return s.remote.RunHeld(ctx, scenario, runID)
}

// Publish tells the remote, if any, that the file or folder path (under
// Dir) was written. The Store calls it for what it writes; drill gc for its
// gc.log, which it writes itself.
func (s *Store) Publish(path string) {
	if s.remote == nil {
		return
	}
	if rel, err := filepath.Rel(s.Dir, path); err == nil && filepath.IsLocal(rel) {
		s.remote.Publish(filepath.ToSlash(rel))
	}
}

// withRemoteLock takes the remote's lock after the local one, so a run on
// another machine sees it too, and releases both.
func (s *Store) withRemoteLock(local func(), err error, remote func() (func(), error)) (func(), error) {
	if err != nil || s.remote == nil {
		return local, err
	}
	release, err := remote()
	if err != nil {
		local()
		return nil, err
	}
	return func() { release(); local() }, nil
}
