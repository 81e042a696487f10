package resultstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/redeploy-drill/drill/internal/safeio"
)

// NotifyLockWait bounds the wait for a scenario's notification lock.
const NotifyLockWait = time.Minute

// NotifyMemory is what was last announced to the webhooks about one
// scenario (internal/notify decides what it holds): a file of the results
// folder, .drill/notify/<scenario>.json, local to this machine (with an
// object store: its mirror; the bucket does not get it).
type NotifyMemory struct {
	path    string
	release func()
}

// OpenNotifyMemory takes the scenario's notification lock, so that a drill
// run, a cron's drill status and drill serve told about the same change do
// not both announce it, and returns the memory and its content (nil when
// none yet). Close releases the lock.
func (s *Store) OpenNotifyMemory(ctx context.Context, scenario string) (*NotifyMemory, []byte, error) {
	path := filepath.Join(s.Dir, ".drill", "notify", scenario+".json")
	// Another drill delivering the same scenario's notices holds the lock
	// for at most a few attempts; past NotifyLockWait something is stuck.
	ctx, cancel := context.WithTimeoutCause(ctx, NotifyLockWait, fmt.Errorf("the notification lock %s.lock stayed busy for %s", path, NotifyLockWait))
	defer cancel()
	release, err := s.lockNotify(ctx, path+".lock")
	if err != nil {
		return nil, nil, err
	}
	data, err := safeio.ReadRegular(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		release()
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &NotifyMemory{path: path, release: release}, data, nil
}

// Save replaces the memory's content atomically.
func (m *NotifyMemory) Save(data []byte) error { return writeFileAtomic(m.path, data) }

// Close releases the lock.
func (m *NotifyMemory) Close() { m.release() }
