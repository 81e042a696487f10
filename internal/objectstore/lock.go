package objectstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	"go.uber.org/zap"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/redeploy-drill/drill/internal/resultstore"
)

// A lock in the bucket is a series of generations,
// .drill/locks/<lock>/<generation>: each holder creates the next one with
// If-None-Match: * (a conditional create that exactly one of two racing
// runners wins), rewrites its own generation with a later expiry while it
// runs, and marks it released when done. A generation that expired (its
// holder died or lost the store for longer than the TTL) may be taken over
// by creating the next. No object is ever read-modify-written by two
// runners: a generation has one writer, its holder.
//
// The clocks of the runners must agree to well within the TTL.

// lockRecord is one generation's content.
type lockRecord struct {
	Scenario string    `json:"scenario,omitempty"`
	RunID    string    `json:"runId,omitempty"`
	What     string    `json:"what,omitempty"`
	Host     string    `json:"host"`
	Pid      int       `json:"pid"`
	Expires  time.Time `json:"expires"`
	Released bool      `json:"released,omitempty"`
}

func (r *lockRecord) held(now time.Time) bool { return !r.Released && now.Before(r.Expires) }

func (r *lockRecord) busy() *resultstore.BusyError {
	return &resultstore.BusyError{Scenario: r.Scenario, RunID: r.RunID, Pid: r.Pid, Host: r.Host, What: r.What}
}

// releasedGrace is how long after a release a run still counts as alive
// for RunHeld: its final document may still be on its way from a store
// that did not answer at once (drill retries until it exits).
const releasedGrace = 5 * time.Minute

// genWidth keeps generations in numeric order as strings.
const genWidth = 12

func lockKey(lock string, gen int64) string {
	return fmt.Sprintf("%s%s/%0*d", locksPrefix, lock, genWidth, gen)
}

// heldLock is a generation this process holds.
type heldLock struct {
	name, key string
	gen       int64
	rec       lockRecord
	stop      chan struct{}
	done      chan struct{}
}

// lockState is the locks a Store holds and what happened to them.
type lockState struct {
	mu   sync.Mutex
	lost []string
	// newest caches RunHeld's reads, by scenario.
	newest map[string]cachedLock
}

func (s *Store) lockWarnings() []string {
	s.locks.mu.Lock()
	defer s.locks.mu.Unlock()
	return append([]string(nil), s.locks.lost...)
}

// LockScenario takes the scenario's run lock in the bucket.
func (s *Store) LockScenario(ctx context.Context, scenario, runID string, wait bool) (func(), error) {
	return s.lock(ctx, "run-"+scenario, lockRecord{Scenario: scenario, RunID: runID}, wait)
}

// LockGC takes the bucket's gc lock.
func (s *Store) LockGC(ctx context.Context, wait bool) (func(), error) {
	return s.lock(ctx, "gc", lockRecord{What: "gc"}, wait)
}

func (s *Store) lock(ctx context.Context, name string, rec lockRecord, wait bool) (func(), error) {
	rec.Pid = os.Getpid()
	rec.Host, _ = os.Hostname()
	poll := min(s.opts.LockTTL/4, 5*time.Second)
	for {
		gen, cur, err := s.newest(ctx, name)
		if err != nil {
			return nil, &UnreachableError{URL: s.url, Err: fmt.Errorf("read lock %s: %w", name, err)}
		}
		if cur != nil && cur.held(time.Now()) {
			if !wait {
				return nil, cur.busy()
			}
			select {
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			case <-time.After(poll):
			}
			continue
		}
		h := &heldLock{name: name, key: lockKey(name, gen+1), gen: gen + 1, rec: rec,
			stop: make(chan struct{}), done: make(chan struct{})}
		h.rec.Expires = time.Now().Add(s.opts.LockTTL).UTC()
		err = s.createLock(ctx, h)
		if lostRace(err) {
			continue // another runner created it first: read who
		}
		if err != nil {
			return nil, &UnreachableError{URL: s.url, Err: fmt.Errorf("create lock %s: %w", h.key, err)}
		}
		s.prune(ctx, name, gen+1)
		go s.renew(h)
		return func() { s.release(h) }, nil
	}
}

// RunHeld tells whether run runID holds the scenario's run lock: the
// newest generation is its and has not expired. A lock that cannot be read
// is not known.
//
// Answers are kept for a few seconds (heldFor): a dashboard asks about
// every running run on every request.
func (s *Store) RunHeld(ctx context.Context, scenario, runID string) (held, known bool) {
	s.locks.mu.Lock()
	c, ok := s.locks.newest[scenario]
	s.locks.mu.Unlock()
	if !ok || time.Since(c.at) > s.heldFor() {
		gen, rec, err := s.newest(ctx, "run-"+scenario)
		if err != nil {
			return false, false
		}
		c = cachedLock{gen: gen, rec: rec, at: time.Now()}
		s.locks.mu.Lock()
		if s.locks.newest == nil {
			s.locks.newest = map[string]cachedLock{}
		}
		s.locks.newest[scenario] = c
		s.locks.mu.Unlock()
	}
	switch {
	case c.gen == 0:
		return false, true // never taken: no drill runs it with this bucket
	case c.rec == nil:
		return false, false // unreadable, or pruned while read
	}
	if c.rec.RunID != runID {
		return false, true
	}
	// Released: the run finished, its final document is in the bucket or
	// on its way.
	return c.rec.held(time.Now()) || c.rec.Released && time.Now().Before(c.rec.Expires.Add(releasedGrace)), true
}

// heldFor is how long RunHeld keeps an answer: well within the TTL, so a
// lock that expires is seen expired soon after.
func (s *Store) heldFor() time.Duration { return min(s.opts.LockTTL/4, 5*time.Second) }

// cachedLock is the newest generation of a run lock, as read at.
type cachedLock struct {
	gen int64
	rec *lockRecord
	at  time.Time
}

// lostRace tells whether a conditional create failed because another
// runner created the object first: 412 Precondition Failed, or S3's 409
// ConditionalRequestConflict for two creates in flight at once.
func lostRace(err error) bool {
	if err == nil {
		return false
	}
	if gcerrors.Code(err) == gcerrors.FailedPrecondition || errors.Is(err, fs.ErrExist) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ConditionalRequestConflict"
}

// createLock creates a new generation, failing if it exists. A file://
// bucket gets a hard link of a complete temporary file: gocloud's fileblob
// checks and renames, which is exclusive only within one process, and
// runners on a shared folder are many processes.
func (s *Store) createLock(ctx context.Context, h *heldLock) error {
	if s.fileRoot == "" {
		return s.writeLock(ctx, h, true)
	}
	data, err := json.Marshal(h.rec)
	if err != nil {
		return err
	}
	final := filepath.Join(s.fileRoot, filepath.FromSlash(h.key))
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return err
	}
	// Named like fileblob's attribute files, which its listings skip.
	tmp, err := os.CreateTemp(filepath.Dir(final), ".lock-*.attrs")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), final)
}

// newest returns the newest generation of a lock and its record (nil when
// the lock was never taken, or its record cannot be read: a record that
// is not JSON is treated as expired).
func (s *Store) newest(ctx context.Context, name string) (int64, *lockRecord, error) {
	gen, err := s.newestGen(ctx, name)
	if err != nil || gen == 0 {
		return 0, nil, err
	}
	key := lockKey(name, gen)
	rctx, cancel := s.request(ctx)
	defer cancel()
	data, err := s.bucket.ReadAll(rctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return gen, nil, nil // pruned meanwhile by a newer holder
	}
	if err != nil {
		return 0, nil, err
	}
	var rec lockRecord
	if json.Unmarshal(data, &rec) != nil {
		return gen, nil, nil
	}
	return gen, &rec, nil
}

// newestGen is the newest generation of a lock, 0 when it was never taken.
func (s *Store) newestGen(ctx context.Context, name string) (int64, error) {
	var st Stats
	objs, err := s.list(ctx, locksPrefix+name+"/", &st)
	if err != nil {
		return 0, err
	}
	var gen int64
	for _, o := range objs {
		n, err := strconv.ParseInt(strings.TrimPrefix(o.Key, locksPrefix+name+"/"), 10, 64)
		if err == nil && n > gen {
			gen = n
		}
	}
	return gen, nil
}

func (s *Store) writeLock(ctx context.Context, h *heldLock, create bool) error {
	data, err := json.Marshal(h.rec)
	if err != nil {
		return err
	}
	rctx, cancel := s.request(ctx)
	defer cancel()
	return s.bucket.WriteAll(rctx, h.key, data, &blob.WriterOptions{ContentType: "application/json", IfNotExist: create})
}

// prune removes the generations before the one just taken (best effort:
// they only cost a listing entry).
func (s *Store) prune(ctx context.Context, name string, gen int64) {
	var st Stats
	objs, err := s.list(ctx, locksPrefix+name+"/", &st)
	if err != nil {
		return
	}
	for _, o := range objs {
		n, err := strconv.ParseInt(strings.TrimPrefix(o.Key, locksPrefix+name+"/"), 10, 64)
		if err == nil && n < gen {
			rctx, cancel := s.request(ctx)
			_ = s.bucket.Delete(rctx, o.Key)
			cancel()
		}
	}
}

// renew pushes the lock's expiry forward every third of the TTL until it
// is released. A renewal that finds a newer generation has lost the lock (the store was unreachable for longer than the TTL and another
// runner took over): that goes into the run's warnings.
func (s *Store) renew(h *heldLock) {
	defer close(h.done)
	t := time.NewTicker(s.opts.LockTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		gen, err := s.newestGen(context.Background(), h.name)
		if err == nil && gen > h.gen {
			s.locks.mu.Lock()
			s.locks.lost = append(s.locks.lost, fmt.Sprintf("the lock %s was taken over by another drill at about %s: this process could not renew it in time (the results store did not answer for longer than %s), so another run may have overlapped this one",
				strings.TrimPrefix(h.key, locksPrefix), time.Now().UTC().Format(time.RFC3339), s.opts.LockTTL))
			s.locks.mu.Unlock()
			s.log.Warn("results store: run lock lost", zap.String("lock", h.key))
			return
		}
		h.rec.Expires = time.Now().Add(s.opts.LockTTL).UTC()
		if err := s.writeLock(context.Background(), h, false); err != nil {
			s.health.failed(time.Now(), err)
			s.log.Warn("results store: lock renewal failed; retrying", zap.String("lock", h.key), zap.Error(err))
		}
	}
}

// release marks the generation released once what was published so far
// (the run's final document among it) is in the bucket, so the next runner
// need not wait for it to expire: a reader on another machine must never
// see the lock free and the document still running. It returns at once;
// the lock is renewed meanwhile, and Close waits for the release. Uploads
// that do not finish before Close (a store that stays down) leave the lock
// to expire by itself.
func (s *Store) release(h *heldLock) {
	s.releasing.Add(1)
	go func() {
		defer s.releasing.Done()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-s.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		left, _ := s.Flush(ctx)
		cancel()
		close(h.stop)
		<-h.done
		if left > 0 {
			s.log.Warn("results store: uploads pending; the lock is left to expire", zap.String("lock", h.key))
			return
		}
		h.rec.Released = true
		h.rec.Expires = time.Now().UTC()
		if err := s.writeLock(context.Background(), h, false); err != nil {
			s.log.Warn("results store: could not release the lock; it expires by itself", zap.String("lock", h.key), zap.Error(err))
		}
	}()
}
