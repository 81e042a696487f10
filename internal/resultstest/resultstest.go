// Package resultstest builds result documents for the tests of the results
// package and of the store, which share them: a fixed start time, valid
// run IDs and small finished runs.
package resultstest

import (
	"fmt"
	"time"

	"github.com/redeploy-drill/drill/results"
)

// Start is a fixed, non-UTC start time: documents must come out in UTC.
var Start = time.Date(2026, 11, 27, 8, 15, 0, 123_000_000, time.FixedZone("CET", 3600))

// Now is the "now" summaries are judged at, a few hours after Start.
var Now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// RunID returns a valid, deterministic run ID for start; n keeps IDs of
// the same second apart.
func RunID(start time.Time, n int) string {
	return start.UTC().Format(results.RunIDTimeLayout) + fmt.Sprintf("-%06x", n)
}

// Ptr returns a pointer to a copy of v.
func Ptr[T any](v T) *T { return &v }

// SimpleRun is a finished run without cycles, enough for index, history and
// summary tests.
func SimpleRun(scenario string, start time.Time, n int, status results.Status, holds bool) *results.Run {
	return &results.Run{
		RunID:      RunID(start, n),
		Scenario:   results.ScenarioRef{Name: scenario, File: scenario + ".yaml"},
		Trigger:    "manual",
		Status:     status,
		StartedAt:  start,
		FinishedAt: Ptr(start.Add(time.Minute)),
		DurationMs: 60_000,
		Guideline:  &results.Guideline{Holds: holds, Checks: []results.Check{{Name: "repeatable", OK: holds}}},
	}
}
