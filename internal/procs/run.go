package procs

import (
	"context"
	"os"
	"time"

	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// RunAlive reports whether the drill that wrote a document still marked
// running is still there: its pid is alive on this host and is not a
// recycled pid (a process that started after the run did). Runs from
// another host, or without a pid, cannot be judged and count as alive.
//
// It is the results.SummaryOptions.Alive of drill status, drill list, drill
// serve and drill report, and what drill gc collects by, so that all of them
// call the same run aborted. It lives here rather than in the janitor so that
// the dashboard does not link the kind and Terraform code the janitor needs.
func RunAlive(r *results.Run) bool { return DrillAlive(r.Pid, r.Host.Name, r.StartedAt) }

// RunAliveIn is RunAlive for the runs kept in store. A run written on
// another host, which RunAlive cannot judge, is judged by the store's lock
// in object storage when there is one: a drill that is alive renews it, a
// pod that died lets it expire within a minute.
func RunAliveIn(store *resultstore.Store) func(*results.Run) bool {
	return func(r *results.Run) bool {
		if self, _ := os.Hostname(); r.Host.Name != self && r.Pid > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if held, known := store.RunHeld(ctx, r.Scenario.Name, r.RunID); known {
				return held
			}
		}
		return RunAlive(r)
	}
}

// DrillAlive reports whether the drill process pid on host, which started
// no later than since, is still there. A pid on another host, or no pid,
// cannot be judged and counts as alive; a recycled pid belongs to a process
// that started after since. drill gc judges a run whose document is damaged
// by the pid and host its ledger entries carry, with this.
func DrillAlive(pid int, host string, since time.Time) bool {
	self, _ := os.Hostname()
	if pid <= 0 || host != self {
		return true
	}
	if !Alive(pid) {
		return false
	}
	if started, ok := StartTime(pid); ok && started.After(since.Add(2*time.Second)) {
		return false
	}
	return true
}
