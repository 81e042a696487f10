package procs

import (
	"os"
	"time"

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
func RunAlive(r *results.Run) bool {
	host, _ := os.Hostname()
	if r.Pid <= 0 || r.Host.Name != host {
		return true
	}
	if !Alive(r.Pid) {
		return false
	}
	if started, ok := StartTime(r.Pid); ok && started.After(r.StartedAt.Add(2*time.Second)) {
		return false
	}
	return true
}
