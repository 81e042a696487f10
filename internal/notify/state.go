// Package notify tells a chat or paging webhook when a scenario's state
// changes: it starts failing, stops holding the guideline, goes stale, its
// drill was aborted, or it recovers. Not on every run: a channel that hears
// "passed" every night stops being read.
//
// What was last announced to each webhook is remembered in the results
// folder (.drill/notify/<scenario>.json), so drill run, a cron's drill
// status and drill serve share one memory and a change is told once. An
// announcement that could not be delivered is not remembered: the next
// command tries again.
package notify

import (
	"github.com/redeploy-drill/drill/results"
)

// State is what a webhook is told about.
type State string

const (
	// Holds: the newest drill passed with the guideline holding, recently.
	Holds State = "holds"
	// Failing: the newest drill failed (or timed out, or was canceled).
	Failing State = "failing"
	// NotHolding: the newest drill passed but the guideline does not hold.
	NotHolding State = "not-holding"
	// Stale: no drill passed with the guideline holding within the
	// scenario's freshness.
	Stale State = "stale"
	// Aborted: the newest run's drill died (killed, rebooted).
	Aborted State = "aborted"
	// NeverRun: no drill of the scenario has finished.
	NeverRun State = "never-run"
)

// FromRun is the state a finished run leaves its scenario in: it is the
// newest run, so it is fresh.
func FromRun(doc *results.Run) State {
	switch {
	case doc.Status != results.StatusPassed:
		return Failing
	case doc.Guideline == nil || !doc.Guideline.Holds:
		return NotHolding
	}
	return Holds
}

// FromSummary is the state drill status judges a scenario to be in.
func FromSummary(s *results.Summary) State {
	switch s.Verdict() {
	case results.VerdictAborted:
		return Aborted
	case results.VerdictNeverRun:
		return NeverRun
	case results.VerdictBroken:
		if s.Newest.Status != results.StatusPassed {
			return Failing
		}
		return NotHolding
	case results.VerdictStale:
		return Stale
	}
	return Holds
}

// Event names the change, the body's "event".
type Event string

const (
	EventFailing    Event = "failing"
	EventNotHolding Event = "not-holding"
	EventStale      Event = "stale"
	EventAborted    Event = "aborted"
	EventRecovered  Event = "recovered"
	// EventUnchanged is sent only with --notify-always.
	EventUnchanged Event = "unchanged"
)

// change decides what a webhook that was last told prev hears about cur.
// Nothing is said of a scenario that never ran, nor of one that holds
// when the webhook has heard nothing of it (its first drill passing is not
// news); everything else that differs is.
func change(prev, cur State, always bool) (Event, bool) {
	if prev == cur || cur == NeverRun || (cur == Holds && (prev == "" || prev == NeverRun)) {
		return EventUnchanged, always && cur != NeverRun
	}
	switch cur {
	case Failing:
		return EventFailing, true
	case NotHolding:
		return EventNotHolding, true
	case Stale:
		return EventStale, true
	case Aborted:
		return EventAborted, true
	}
	return EventRecovered, true
}
