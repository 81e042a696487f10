package runner

import (
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/results"
)

// snapshotEvery is the least time between two background writes of the
// running document, unless a step starts. Fast steps would otherwise have
// it rewritten twice each (a temporary file, its encoding, a rename: most
// of drill's own cost per step, measured with pprof). A step's start is
// written at once (put with now), so that a killed drill's document names
// the step it died in; a step's end waits, and is carried by the next
// step's start, the end of the cycle (written at once too) or the next
// write at most snapshotEvery later.
const snapshotEvery = 100 * time.Millisecond

// snapshotter writes copies of the running document in the background, so
// that encoding and writing it (which grows with every step and costs more
// than a fast step itself) stays off the path of the steps. Only the newest
// copy matters: one handed over while another is being written, or within
// snapshotEvery of the last write, replaces any copy still waiting. flush
// waits until the newest copy is on disk, and does not wait out the
// interval.
type snapshotter struct {
	save func(*results.Run) error
	log  *zap.Logger

	mu       sync.Mutex
	cond     *sync.Cond
	next     *results.Run // newest copy not yet written
	busy     bool         // a copy is being written
	flushing int          // callers of flush waiting
	now      bool         // the copy waiting must not wait out the interval
	closed   bool
	hurry    chan struct{} // ends the wait between two writes
	done     chan struct{}
}

func newSnapshotter(save func(*results.Run) error, log *zap.Logger) *snapshotter {
	s := &snapshotter{save: save, log: log, hurry: make(chan struct{}, 1), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.loop()
	return s
}

func (s *snapshotter) loop() {
	defer close(s.done)
	var last time.Time // when the last write started
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for s.next == nil && !s.closed {
			s.cond.Wait()
		}
		if s.next == nil {
			return // closed, and everything is written
		}
		select { // a wake-up from before this check is answered by it
		case <-s.hurry:
		default:
		}
		if wait := snapshotEvery - time.Since(last); wait > 0 && s.flushing == 0 && !s.closed && !s.now {
			s.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.hurry:
				t.Stop()
			}
			s.mu.Lock()
			continue
		}
		doc := s.next
		s.next, s.busy, s.now = nil, true, false
		s.mu.Unlock()
		last = time.Now()
		if err := s.save(doc); err != nil {
			s.log.Warn("could not save the run document", zap.Error(err))
		}
		s.mu.Lock()
		s.busy = false
		s.cond.Broadcast()
	}
}

// put hands over a copy of doc to be written; with now, as soon as the
// write under way (if any) is done, without waiting out the interval.
func (s *snapshotter) put(doc *results.Run, now bool) {
	c := snapshot(doc)
	s.mu.Lock()
	s.next = c
	if now {
		s.now = true
		s.wake()
	}
	s.mu.Unlock()
	s.cond.Broadcast()
}

// flush waits until every copy handed over is written (or was replaced by a
// newer one that is), so that a synced write after it cannot be overtaken.
func (s *snapshotter) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushing++
	defer func() { s.flushing-- }()
	s.wake()
	for s.next != nil || s.busy {
		s.cond.Wait()
	}
}

// close writes what is pending and stops the background writer.
func (s *snapshotter) close() {
	s.mu.Lock()
	s.closed = true
	s.wake()
	s.mu.Unlock()
	s.cond.Broadcast()
	<-s.done
}

// wake ends the writer's wait between two writes, if it is waiting.
func (s *snapshotter) wake() {
	select {
	case s.hurry <- struct{}{}:
	default:
	}
}

// snapshot copies the parts of a document the runner goes on changing: the
// cycles and their steps. What they point to (times, errors, the guideline)
// is set whole and never changed afterwards, so it is shared.
func snapshot(d *results.Run) *results.Run {
	c := *d
	c.Cycles = make([]results.Cycle, len(d.Cycles))
	for i, cy := range d.Cycles {
		cy.Steps = slices.Clone(cy.Steps)
		c.Cycles[i] = cy
	}
	return &c
}
