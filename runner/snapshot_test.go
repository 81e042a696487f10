package runner

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/results"
)

// While a copy is being written, newer ones replace each other: only the
// newest is written next, and flush returns once it is.
func TestSnapshotterWritesTheNewestCopyAndFlushWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var (
			mu    sync.Mutex
			saved []string
		)
		s := newSnapshotter(func(r *results.Run) error {
			if r.Status == "a" {
				<-release // the first write is slow
			}
			mu.Lock()
			saved = append(saved, string(r.Status)+"/"+r.Cycles[0].Steps[0].Name)
			mu.Unlock()
			return nil
		}, zap.NewNop())
		defer s.close()

		doc := &results.Run{Status: "a", Cycles: []results.Cycle{{Index: 1, Steps: []results.Step{{Name: "one"}}}}}
		s.put(doc, false)
		synctest.Wait() // the writer is busy with "a"
		for _, st := range []results.Status{"b", "c", "d"} {
			doc.Status = st
			s.put(doc, false)
		}
		// The copy is taken at put: changing the document afterwards does not
		// reach what is written.
		doc.Status = "changed"
		doc.Cycles[0].Steps[0].Name = "changed"

		flushed := false
		go func() {
			s.flush()
			flushed = true
		}()
		synctest.Wait()
		assert.False(t, flushed, "flush waits for the slow write")
		close(release)
		synctest.Wait()
		assert.True(t, flushed)
		assert.Equal(t, []string{"a/one", "d/one"}, saved)
	})
}

// statusWriter is a snapshotter writing into a list of the statuses it
// wrote; written waits until the bubble's goroutines are idle and returns
// that list.
func statusWriter(t *testing.T) (s *snapshotter, written func() []string) {
	var (
		mu    sync.Mutex
		saved []string
	)
	s = newSnapshotter(func(r *results.Run) error {
		mu.Lock()
		saved = append(saved, string(r.Status))
		mu.Unlock()
		return nil
	}, zap.NewNop())
	t.Cleanup(s.close)
	return s, func() []string {
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(saved)
	}
}

// Copies handed over within snapshotEvery of a write are not written one by
// one: the newest is written when the interval is over, or at once by a
// flush.
func TestSnapshotterCoalescesWithinTheInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, got := statusWriter(t)
		doc := &results.Run{Status: "a"}
		s.put(doc, false)
		assert.Equal(t, []string{"a"}, got(), "the first copy is written at once")
		for _, st := range []results.Status{"b", "c"} {
			doc.Status = st
			s.put(doc, false)
		}
		assert.Equal(t, []string{"a"}, got(), "copies within the interval wait")
		time.Sleep(snapshotEvery) // the bubble's clock: no real wait
		assert.Equal(t, []string{"a", "c"}, got(), "the newest is written once the interval is over")

		doc.Status = "d"
		s.put(doc, false)
		s.flush()
		assert.Equal(t, []string{"a", "c", "d"}, got(), "flush does not wait out the interval")
	})
}

// A step's start (put with now) is written as soon as the writer is free,
// without waiting out the interval.
func TestSnapshotterWritesAStartAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, got := statusWriter(t)
		doc := &results.Run{Status: "end-of-workdir"}
		s.put(doc, false)
		assert.Equal(t, []string{"end-of-workdir"}, got())
		start := time.Now()
		doc.Status = "end-of-provision"
		s.put(doc, false)
		doc.Status = "start-of-deploy"
		s.put(doc, true)
		assert.Equal(t, []string{"end-of-workdir", "start-of-deploy"}, got(), "the start carries the end before it")
		assert.Equal(t, start, time.Now(), "no wait for the interval (the bubble's clock did not move)")
	})
}
