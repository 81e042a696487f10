package runner

import (
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/scenarios"
)

// teardownGrace is how long processes of the run that are still running
// after a cycle's teardown get to exit on their own before they count as
// left behind. A teardown step that stops a daemon with `kill $(cat pid)`
// returns as soon as the signal is sent, before the daemon has exited;
// without this grace drill would report (and kill) the very process the
// teardown is stopping. 3 s is ample for a daemon that shuts down cleanly;
// one that takes longer is worth the finding.
const teardownGrace = 3 * time.Second

// processGrace is how long processes left after a cycle get to stop on
// SIGTERM before they are killed.
const processGrace = 5 * time.Second

func workdirID(cycle int) string { return fmt.Sprintf("c%d/workdir", cycle) }
func targetID(cycle int) string  { return fmt.Sprintf("c%d/target", cycle) }

// ledgerCreate records what is about to be created. A ledger that cannot be
// written is logged, not fatal: the drill itself can still clean up, only a
// janitor after a crash would lack the record. Entries hold no secret value
// by construction (internal/plan records secrets and secret-bearing
// variables by reference, and Terraform variables unexpanded), so nothing
// here needs redacting: a redacted value would make drill gc run with "***".
func (x *run) ledgerCreate(e resultstore.LedgerEntry) {
	if x.ledger == nil {
		return
	}
	if err := x.ledger.Create(e); err != nil {
		x.log.Warn("could not write the ledger", zap.Error(err))
	}
}

func (x *run) ledgerRelease(id string) {
	if x.ledger == nil {
		return
	}
	if err := x.ledger.Release(id); err != nil {
		x.log.Warn("could not write the ledger", zap.Error(err))
	}
}

// sweepProcesses stops what the cycle's steps left running after teardown:
// processes carrying this run's DRILL_RUN_ID that are still running after
// teardownGrace, and whatever they fork while being stopped. The teardown
// should have stopped them, so any left is a clean-teardown finding as well
// as stopped.
func (x *run) sweepProcesses(c *results.Cycle, index int) {
	found, err := procs.WithEnv(scenarios.VarRunID, x.doc.RunID)
	if err != nil {
		x.log.Warn("could not look for processes left after teardown", zap.Int("cycle", index), zap.Error(err))
		return
	}
	if len(procs.Settle(found, teardownGrace)) == 0 {
		if again, _ := procs.WithEnv(scenarios.VarRunID, x.doc.RunID); len(again) == 0 {
			return
		}
	}
	stopped, still, err := procs.StopAllWithEnv(scenarios.VarRunID, x.doc.RunID, processGrace)
	if err != nil {
		x.log.Warn("could not look for processes left after teardown", zap.Int("cycle", index), zap.Error(err))
	}
	if len(stopped) == 0 && len(still) == 0 {
		return // they exited on their own meanwhile
	}
	var names []string
	for _, p := range stopped {
		names = append(names, p.String())
	}
	msg := fmt.Sprintf("processes still running after teardown (stopped by drill): %s", strings.Join(names, ", "))
	if len(still) > 0 {
		msg += fmt.Sprintf("; %d could not be stopped", len(still))
	}
	x.leftovers = append(x.leftovers, fmt.Sprintf("cycle %d: %s", index, msg))
	x.log.Warn("teardown left processes running", zap.Int("cycle", index), zap.Strings("processes", names))
	x.emit(Event{Kind: Notice, Run: x.doc, Cycle: c, Message: fmt.Sprintf("cycle %d: %s", index, msg)})
}
