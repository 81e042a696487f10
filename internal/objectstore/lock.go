package objectstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/redeploy-drill/drill/results"
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

func (r *lockRecord) busy() *results.BusyError {
	return &results.BusyError{Scenario: r.Scenario, RunID: r.RunID, Pid: r.Pid, Host: r.Host, What: r.What}
}

// genWidth keeps generations in numeric order as strings.
const genWidth = 12

func lockKey(lock string, gen int64) string {
	return fmt.Sprintf("%s%s/%0*d", locksPrefix, lock, genWidth, gen)
}

// heldLock is a generation this process holds.
type heldLock struct {
	key, next string
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
		h := &heldLock{key: lockKey(name, gen+1), next: lockKey(name, gen+2), rec: rec,
			stop: make(chan struct{}), done: make(chan struct{})}
		h.rec.Expires = time.Now().Add(s.opts.LockTTL).UTC()
		err = s.writeLock(ctx, h, true)
		if gcerrors.Code(err) == gcerrors.FailedPrecondition {
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
	return c.rec.RunID == runID && c.rec.held(time.Now()), true
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

// newest returns the newest generation of a lock and its record (nil when
// the lock was never taken, or its record cannot be read: a record that
// is not JSON is treated as expired).
func (s *Store) newest(ctx context.Context, name string) (int64, *lockRecord, error) {
	var st Stats
	objs, err := s.list(ctx, locksPrefix+name+"/", &st)
	if err != nil {
		return 0, nil, err
	}
	var gen int64
	key := ""
	for _, o := range objs {
		n, err := strconv.ParseInt(strings.TrimPrefix(o.Key, locksPrefix+name+"/"), 10, 64)
		if err == nil && n > gen {
			gen, key = n, o.Key
		}
	}
	if key == "" {
		return 0, nil, nil
	}
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
// is released. A renewal that finds the next generation taken has lost
// the lock (the store was unreachable for longer than the TTL and another
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
		rctx, cancel := s.request(context.Background())
		taken, err := s.bucket.Exists(rctx, h.next)
		cancel()
		if err == nil && taken {
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

// release stops the renewal and marks the generation released, so the
// next runner need not wait for it to expire. A store that does not answer
// lets it expire instead.
func (s *Store) release(h *heldLock) {
	close(h.stop)
	<-h.done
	h.rec.Released = true
	h.rec.Expires = time.Now().UTC()
	if err := s.writeLock(context.Background(), h, false); err != nil {
		s.log.Warn("results store: could not release the lock; it expires by itself", zap.String("lock", h.key), zap.Error(err))
	}
}
