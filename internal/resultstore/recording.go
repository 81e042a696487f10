package resultstore

import (
	"context"
	"path/filepath"

	"github.com/redeploy-drill/drill/results"
)

// Durability says how far a run document written through a Recording goes.
type Durability int

const (
	// Snapshot writes the document atomically without flushing it to disk:
	// a running drill's progress, rewritten after every step (SaveRun).
	Snapshot Durability = iota
	// Durable also flushes it to disk (WriteRun).
	Durable
	// Final is Durable for a finished run, folded into latest.json, the
	// index and the history as well (FinishRun).
	Final
)

// Recording is one run's side of a Store: the door through which the runner
// writes a run's evidence (the runner's Recorder). It holds the run's
// redaction and an absolute results folder, so no path it gives depends on
// drill's working folder.
type Recording struct {
	store           *Store
	scenario, runID string
}

// Record returns the Recording of run runID of scenario; every document it
// writes is masked by redact (nil: none).
func (s *Store) Record(scenario, runID string, redact func([]byte) []byte) *Recording {
	c := s.WithRedaction(redact)
	if !filepath.IsAbs(c.Dir) {
		if abs, err := filepath.Abs(c.Dir); err == nil {
			c.Dir = abs
		}
	}
	return &Recording{store: c, scenario: scenario, runID: runID}
}

// Save writes doc, the run's document, as durably as d says.
func (r *Recording) Save(doc *results.Run, d Durability) error {
	switch d {
	case Snapshot:
		return r.store.SaveRun(doc)
	case Durable:
		return r.store.WriteRun(doc)
	default:
		return r.store.FinishRun(doc)
	}
}

// Lock takes the scenario's run lock for this run (Store.LockScenario).
func (r *Recording) Lock(ctx context.Context, wait bool) (release func(), err error) {
	return r.store.LockScenario(ctx, r.scenario, r.runID, wait)
}

// Ledger is the run's ledger.
func (r *Recording) Ledger() *Ledger { return r.store.Ledger(r.scenario, r.runID) }

// Files says where the run's files are.
func (r *Recording) Files() RunFiles { return RunFiles{r.store, r.scenario, r.runID} }

// RunFiles names one run's files in its results folder.
type RunFiles struct {
	store           *Store
	scenario, runID string
}

// Folder is the results folder, absolute.
func (f RunFiles) Folder() string { return f.store.Dir }

// Location is the results folder for messages: its URL when it mirrors an
// object store.
func (f RunFiles) Location() string { return f.store.Location() }

// Document is the run's document.
func (f RunFiles) Document() string { return f.store.RunPath(f.scenario, f.runID) }

// RunDir is the folder of the run's logs and other evidence.
func (f RunFiles) RunDir() string { return f.store.RunDir(f.scenario, f.runID) }

// Log is the log file of step index (its position in the cycle) of cycle.
func (f RunFiles) Log(cycle, index int, step string) string {
	return f.store.LogPath(f.scenario, f.runID, cycle, index, step)
}

// Rel is path as documents store it (Store.Rel).
func (f RunFiles) Rel(path string) string { return f.store.Rel(path) }

// Resolve turns a path stored in a document into a file path (Store.Resolve).
func (f RunFiles) Resolve(rel string) (string, error) { return f.store.Resolve(rel) }
