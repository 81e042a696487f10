package runner

import (
	"context"

	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// Recorder is all the runner asks of the results folder for one run: write
// its document, hold the scenario's run lock, keep its ledger and say where
// its files go. drill's is a *resultstore.Recording.
type Recorder interface {
	// Save writes the run's document: a Snapshot after every step, Durable
	// at the start and when the document was lost, Final once finished.
	Save(doc *results.Run, d resultstore.Durability) error
	// Lock takes the scenario's run lock; a run holding it is a
	// *resultstore.BusyError, unless wait.
	Lock(ctx context.Context, wait bool) (release func(), err error)
	// Ledger is the run's ledger of what it created and has not removed.
	Ledger() *resultstore.Ledger
	// Files names the run's files: its document, logs and evidence.
	Files() resultstore.RunFiles
}

var _ Recorder = (*resultstore.Recording)(nil)
