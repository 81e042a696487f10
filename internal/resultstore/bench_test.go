package resultstore

import (
	"testing"
	"time"

	. "github.com/redeploy-drill/drill/results"
)

// BenchmarkWriteRun measures the per-step cost of recording a drill: one
// atomic rewrite (encode, write, fsync, rename) of a 2-cycle run of 20 steps
// per cycle.
func BenchmarkWriteRun(b *testing.B) {
	s := Open(b.TempDir())
	r := fullRun("local-web", testStart, 1, 2, 20)
	for b.Loop() {
		if err := s.WriteRun(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSummarize summarizes 10,000 runs (a year of drills every hour),
// the largest history drill status and drill serve are expected to face.
func BenchmarkSummarize(b *testing.B) {
	template := fullRun("local-web", testStart, 0, 2, 20)
	runs := make([]*Run, 10_000)
	for i := range runs {
		r := *template // cycles are shared: Summarize only reads them
		r.RunID = testRunID(testStart, i)
		r.StartedAt = testStart.Add(time.Duration(i) * time.Hour)
		r.DurationMs = int64(40_000 + i%997)
		if i%7 == 0 {
			r.Status = StatusPassed
		}
		runs[i] = &r
	}
	now := runs[len(runs)-1].StartedAt.Add(time.Hour)
	for b.Loop() {
		sum := Summarize(runs, now, SummaryOptions{})
		if sum.Recent != DefaultRecent {
			b.Fatalf("recent = %d", sum.Recent)
		}
	}
}
