package results_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/redeploy-drill/drill/results"
)

// hr is one generated run: started ago before summaryNow.
type hr struct {
	ago       time.Duration
	status    Status
	holds     bool
	ms        int64
	flaky     bool
	freshness time.Duration
}

func history(specs ...hr) []*Run {
	var runs []*Run
	for i, s := range specs {
		r := simpleRun("local-web", summaryNow.Add(-s.ago), i, s.status, s.holds)
		r.DurationMs = s.ms
		r.FreshnessMs = s.freshness.Milliseconds()
		if s.flaky {
			r.Cycles = []Cycle{{Index: 1, Status: StatusPassed, Steps: []Step{{Name: "build", Phase: PhaseDeploy, Status: StatusFailed, Flaky: true}}}}
		}
		runs = append(runs, r)
	}
	return runs
}

func newest(runs []*Run, i int) *RunSummary {
	r := runs[i]
	return &RunSummary{
		RunID: r.RunID, Status: r.Status, Holds: r.Guideline.Holds, Failing: r.Guideline.Failing(),
		StartedAt: r.StartedAt.UTC(), DurationMs: r.DurationMs,
	}
}

func at(ago time.Duration) *time.Time { return ptr(summaryNow.Add(-ago)) }

func TestSummarize(t *testing.T) {
	day := int64(24 * time.Hour / time.Millisecond)
	h := time.Hour

	steady := history(hr{ago: 3 * h, status: StatusPassed, holds: true, ms: 1000}, hr{ago: 2 * h, status: StatusPassed, holds: true, ms: 3000}, hr{ago: 1 * h, status: StatusPassed, holds: true, ms: 2000})
	stale := history(hr{ago: 25 * h, status: StatusPassed, holds: true, ms: 1000}, hr{ago: 1 * h, status: StatusFailed, ms: 500})
	ownFreshness := history(hr{ago: 25 * h, status: StatusPassed, holds: true, ms: 1000, freshness: 48 * h})
	exactlyFreshness := history(hr{ago: 24 * h, status: StatusPassed, holds: true, ms: 1000})
	brokenGuideline := history(hr{ago: 1 * h, status: StatusPassed, holds: false, ms: 1000})
	running := history(hr{ago: 2 * h, status: StatusPassed, holds: true, ms: 1000}, hr{ago: 1 * h, status: StatusRunning})
	flaky := history(
		hr{ago: 4 * h, status: StatusPassed, holds: true, ms: 100},
		hr{ago: 3 * h, status: StatusPassed, holds: false, ms: 100, flaky: true},
		hr{ago: 2 * h, status: StatusFailed, ms: 100},
		hr{ago: 1 * h, status: StatusPassed, holds: true, ms: 100},
	)

	// 25 runs, one an hour: the 5 oldest failed; of the 20 recent ones,
	// passed runs took 100, 200, ... ms in start order and run 10 timed out.
	var long []hr
	for i := range 25 {
		s := hr{ago: time.Duration(25-i) * h, status: StatusPassed, holds: true, ms: int64(100 * (i - 4))}
		if i < 5 {
			s = hr{ago: time.Duration(25-i) * h, status: StatusFailed, ms: 99_999}
		}
		if i == 10 {
			s = hr{ago: time.Duration(25-i) * h, status: StatusTimedOut, ms: 99_999}
		}
		long = append(long, s)
	}
	longRuns := history(long...)

	slowerAt := func(newestMs int64) []*Run {
		return history(
			hr{ago: 4 * h, status: StatusPassed, holds: true, ms: 900},
			hr{ago: 3 * h, status: StatusPassed, holds: true, ms: 1000},
			hr{ago: 2 * h, status: StatusPassed, holds: true, ms: 5000},
			hr{ago: 1 * h, status: StatusPassed, holds: true, ms: newestMs},
		)
	}
	slower, notSlower := slowerAt(1501), slowerAt(1500)
	failedSlow := history(hr{ago: 2 * h, status: StatusPassed, holds: true, ms: 1000}, hr{ago: 1 * h, status: StatusFailed, ms: 9000})

	tests := []struct {
		name string
		runs []*Run
		opts SummaryOptions
		want Summary
	}{
		{
			name: "no runs is stale",
			want: Summary{FreshnessMs: day, Stale: true},
		},
		{
			name: "steady passing history is regularly checked",
			runs: steady,
			want: Summary{
				Scenario: "local-web", Runs: 3, Newest: newest(steady, 2), LastSuccess: at(h), FreshnessMs: day,
				RegularlyChecked: true, Recent: 3, PassRate: 1, HoldRate: 1, MedianMs: 2000, P95Ms: 3000, BaselineMs: 2000,
			},
		},
		{
			name: "last success older than freshness is stale",
			runs: stale,
			want: Summary{
				Scenario: "local-web", Runs: 2, Newest: newest(stale, 1), LastSuccess: at(25 * h), FreshnessMs: day,
				Stale: true, Recent: 2, PassRate: 0.5, HoldRate: 0.5, MedianMs: 1000, P95Ms: 1000,
			},
		},
		{
			name: "freshness comes from the runs",
			runs: ownFreshness,
			want: Summary{
				Scenario: "local-web", Runs: 1, Newest: newest(ownFreshness, 0), LastSuccess: at(25 * h), FreshnessMs: 2 * day,
				RegularlyChecked: true, Recent: 1, PassRate: 1, HoldRate: 1, MedianMs: 1000, P95Ms: 1000,
			},
		},
		{
			name: "freshness option replaces the default",
			runs: stale,
			opts: SummaryOptions{DefaultFreshness: 26 * h},
			want: Summary{
				Scenario: "local-web", Runs: 2, Newest: newest(stale, 1), LastSuccess: at(25 * h), FreshnessMs: 26 * day / 24,
				RegularlyChecked: true, Recent: 2, PassRate: 0.5, HoldRate: 0.5, MedianMs: 1000, P95Ms: 1000,
			},
		},
		{
			name: "success exactly freshness ago is stale",
			runs: exactlyFreshness,
			want: Summary{
				Scenario: "local-web", Runs: 1, Newest: newest(exactlyFreshness, 0), LastSuccess: at(24 * h), FreshnessMs: day,
				Stale: true, Recent: 1, PassRate: 1, HoldRate: 1, MedianMs: 1000, P95Ms: 1000,
			},
		},
		{
			name: "passed without the guideline holding is no success",
			runs: brokenGuideline,
			want: Summary{
				Scenario: "local-web", Runs: 1, Newest: newest(brokenGuideline, 0), FreshnessMs: day,
				Stale: true, Recent: 1, PassRate: 1, MedianMs: 1000, P95Ms: 1000,
			},
		},
		{
			name: "running runs are counted but not judged",
			runs: running,
			want: Summary{
				Scenario: "local-web", Runs: 2, Running: []string{running[1].RunID}, Newest: newest(running, 0), LastSuccess: at(2 * h),
				FreshnessMs: day, RegularlyChecked: true, Recent: 1, PassRate: 1, HoldRate: 1, MedianMs: 1000, P95Ms: 1000,
			},
		},
		{
			name: "flaky rate counts runs with a retried step",
			runs: flaky,
			want: Summary{
				Scenario: "local-web", Runs: 4, Newest: newest(flaky, 3), LastSuccess: at(h), FreshnessMs: day,
				RegularlyChecked: true, Recent: 4, PassRate: 0.75, HoldRate: 0.5, FlakyRate: 0.25, MedianMs: 100, P95Ms: 100, BaselineMs: 100,
			},
		},
		{
			name: "rates and durations cover the 20 recent runs",
			runs: longRuns,
			want: Summary{
				Scenario: "local-web", Runs: 25, Newest: newest(longRuns, 24), LastSuccess: at(h), FreshnessMs: day,
				RegularlyChecked: true, Recent: 20, PassRate: 0.95, HoldRate: 0.95,
				// passed: 100..2000 without 600 (19 values): median 1100, p95 rank 19 = 2000.
				MedianMs: 1100, P95Ms: 2000,
				// newest 2000 vs median of 100..1900 without 600 (18 values)
				// = (1000+1100)/2; 2000 > 1.5 × 1050.
				Slower: true, BaselineMs: 1050,
			},
		},
		{
			name: "recent option narrows the window",
			runs: longRuns,
			opts: SummaryOptions{Recent: 4},
			want: Summary{
				Scenario: "local-web", Runs: 25, Newest: newest(longRuns, 24), LastSuccess: at(h), FreshnessMs: day,
				RegularlyChecked: true, Recent: 4, PassRate: 1, HoldRate: 1,
				// 1700 1800 1900 2000; baseline 1700 1800 1900.
				MedianMs: 1850, P95Ms: 2000, BaselineMs: 1800,
			},
		},
		{
			name: "newest more than 1.5 times the median is slower",
			runs: slower,
			want: Summary{
				Scenario: "local-web", Runs: 4, Newest: newest(slower, 3), LastSuccess: at(h), FreshnessMs: day,
				RegularlyChecked: true, Recent: 4, PassRate: 1, HoldRate: 1, MedianMs: 1250, P95Ms: 5000,
				Slower: true, BaselineMs: 1000,
			},
		},
		{
			name: "newest exactly 1.5 times the median is not slower",
			runs: notSlower,
			want: Summary{
				Scenario: "local-web", Runs: 4, Newest: newest(notSlower, 3), LastSuccess: at(h), FreshnessMs: day,
				RegularlyChecked: true, Recent: 4, PassRate: 1, HoldRate: 1, MedianMs: 1250, P95Ms: 5000,
				BaselineMs: 1000,
			},
		},
		{
			name: "slower factor option",
			runs: slower,
			opts: SummaryOptions{SlowerFactor: 2},
			want: Summary{
				Scenario: "local-web", Runs: 4, Newest: newest(slower, 3), LastSuccess: at(h), FreshnessMs: day,
				RegularlyChecked: true, Recent: 4, PassRate: 1, HoldRate: 1, MedianMs: 1250, P95Ms: 5000,
				BaselineMs: 1000,
			},
		},
		{
			name: "a failed newest run is not judged slower",
			runs: failedSlow,
			want: Summary{
				Scenario: "local-web", Runs: 2, Newest: newest(failedSlow, 1), LastSuccess: at(2 * h), FreshnessMs: day,
				RegularlyChecked: true, Recent: 2, PassRate: 0.5, HoldRate: 0.5, MedianMs: 1000, P95Ms: 1000,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarize(tt.runs, summaryNow, tt.opts)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSummarizeOrderAndNewest(t *testing.T) {
	runs := history(
		hr{ago: 1 * time.Hour, status: StatusFailed, ms: 10},
		hr{ago: 3 * time.Hour, status: StatusPassed, holds: true, ms: 30},
		hr{ago: 2 * time.Hour, status: StatusPassed, holds: true, ms: 20},
	)
	runs[0].Error = &Error{Reason: ReasonTimeout, Message: "step start timed out"}
	shuffled := []*Run{runs[2], nil, runs[0], runs[1]}
	got := Summarize(shuffled, summaryNow, SummaryOptions{})
	require.NotNil(t, got.Newest)
	assert.Equal(t, runs[0].RunID, got.Newest.RunID, "input order does not matter")
	assert.Equal(t, []Check{{Name: "repeatable", OK: false}}, got.Newest.Failing)
	assert.Equal(t, runs[0].Error, got.Newest.Error)
	assert.Equal(t, at(2*time.Hour), got.LastSuccess)
	assert.Equal(t, 3, got.Runs)
	assert.Equal(t, runs[2].RunID, shuffled[0].RunID, "the caller's slice is not reordered")
}

func TestSummarizeSteps(t *testing.T) {
	mk := func(ago time.Duration, status Status, durations ...int64) *Run {
		r := simpleRun("local-web", summaryNow.Add(-ago), int(ago/time.Hour), status, status == StatusPassed)
		names := []string{"provision", "build", "healthy", "destroy"}
		phases := []string{PhaseProvision, PhaseDeploy, PhaseVerify, PhaseDestroy}
		for c := range 2 {
			cy := Cycle{Index: c + 1, Status: status}
			for i, d := range durations {
				st := Step{Name: names[i], Phase: phases[i], Status: StatusPassed, DurationMs: d + int64(c)}
				if d < 0 {
					st.Status, st.DurationMs = StatusFailed, 99_999
				}
				cy.Steps = append(cy.Steps, st)
			}
			r.Cycles = append(r.Cycles, cy)
		}
		return r
	}
	runs := []*Run{
		mk(3*time.Hour, StatusPassed, 100, 200, 300, 400),
		mk(2*time.Hour, StatusFailed, 110, -1, 310, 410), // build failed: not measured
		mk(1*time.Hour, StatusPassed, 120, 220, 320, 420),
	}
	got := Summarize(runs, summaryNow, SummaryOptions{})
	assert.Equal(t, []StepStat{
		// samples (two cycles each, the second 1 ms longer):
		{Name: "provision", Phase: PhaseProvision, Count: 6, MedianMs: 110, P95Ms: 121}, // 100 101 110 111 120 121
		{Name: "build", Phase: PhaseDeploy, Count: 4, MedianMs: 210, P95Ms: 221},        // 200 201 220 221
		{Name: "healthy", Phase: PhaseVerify, Count: 6, MedianMs: 310, P95Ms: 321},
		{Name: "destroy", Phase: PhaseDestroy, Count: 6, MedianMs: 410, P95Ms: 421},
	}, got.Steps)
}

func TestMedianP95(t *testing.T) {
	seq := func(n int) []int64 {
		var out []int64
		for i := n; i >= 1; i-- { // descending: input order must not matter
			out = append(out, int64(i))
		}
		return out
	}
	tests := []struct {
		name        string
		values      []int64
		median, p95 int64
	}{
		{"empty", nil, 0, 0},
		{"one", []int64{7}, 7, 7},
		{"two rounds down", []int64{1, 4}, 2, 4},
		{"odd", []int64{5, 1, 3}, 3, 5},
		{"twenty", seq(20), 10, 19},
		{"hundred", seq(100), 50, 95},
		{"hundred and one", seq(101), 51, 96},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]int64(nil), tt.values...)
			median, p95 := MedianP95(tt.values)
			assert.Equal(t, tt.median, median, "median")
			assert.Equal(t, tt.p95, p95, "p95")
			assert.Equal(t, before, tt.values, "input unchanged")
		})
	}
}

func TestSummaryVerdict(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name string
		runs []*Run
		want Verdict
	}{
		{"no runs", nil, VerdictNeverRun},
		{"only running", history(hr{ago: h, status: StatusRunning}), VerdictNeverRun},
		{"fresh and holding", history(hr{ago: h, status: StatusPassed, holds: true, ms: 1}), VerdictHolds},
		{"passed, guideline broken", history(hr{ago: h, status: StatusPassed, holds: false, ms: 1}), VerdictBroken},
		{"failed after a success", history(hr{ago: 2 * h, status: StatusPassed, holds: true, ms: 1}, hr{ago: h, status: StatusFailed, ms: 1}), VerdictBroken},
		{"holding but too old", history(hr{ago: 25 * h, status: StatusPassed, holds: true, ms: 1}), VerdictStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := Summarize(tt.runs, summaryNow, SummaryOptions{})
			assert.Equal(t, tt.want, sum.Verdict())
		})
	}
}

// TestSummarizeAborted checks that the liveness predicate of the caller
// decides which running runs are aborted, and that only an aborted newest
// run makes the verdict aborted.
func TestSummarizeAborted(t *testing.T) {
	h := time.Hour
	dead := func(r *Run) bool { return r.Pid != 666 }
	mark := func(runs []*Run, pids ...int) []*Run {
		for i, p := range pids {
			runs[i].Pid = p
		}
		return runs
	}
	tests := []struct {
		name          string
		runs          []*Run
		alive         func(*Run) bool
		aborted       []int // indexes into runs
		newestAborted bool
		want          Verdict
	}{
		{
			name:  "nil predicate trusts a running document",
			runs:  mark(history(hr{ago: 2 * h, status: StatusPassed, holds: true, ms: 1}, hr{ago: h, status: StatusRunning}), 1, 666),
			alive: nil, want: VerdictHolds,
		},
		{
			name:  "newest running and alive keeps the previous verdict",
			runs:  mark(history(hr{ago: 2 * h, status: StatusPassed, holds: true, ms: 1}, hr{ago: h, status: StatusRunning}), 1, 2),
			alive: dead, want: VerdictHolds,
		},
		{
			name:  "newest running and dead is aborted",
			runs:  mark(history(hr{ago: 2 * h, status: StatusPassed, holds: true, ms: 1}, hr{ago: h, status: StatusRunning}), 1, 666),
			alive: dead, aborted: []int{1}, newestAborted: true, want: VerdictAborted,
		},
		{
			name:  "only run, dead, is aborted rather than never-run",
			runs:  mark(history(hr{ago: h, status: StatusRunning}), 666),
			alive: dead, aborted: []int{0}, newestAborted: true, want: VerdictAborted,
		},
		{
			name:  "an old dead run under a newer finished one is listed, not the verdict",
			runs:  mark(history(hr{ago: 3 * h, status: StatusRunning}, hr{ago: 2 * h, status: StatusRunning}, hr{ago: h, status: StatusFailed, ms: 1}), 666, 666, 1),
			alive: dead, aborted: []int{0, 1}, want: VerdictBroken,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := SummaryOptions{Alive: tt.alive}
			var want []string
			for _, i := range tt.aborted {
				want = append(want, tt.runs[i].RunID)
			}
			for name, sum := range map[string]Summary{
				"documents": Summarize(tt.runs, summaryNow, opts),
				"history":   historyOf(tt.runs).Summarize(summaryNow, opts),
			} {
				assert.Equal(t, want, sum.Aborted, name)
				assert.Equal(t, tt.newestAborted, sum.NewestAborted, name)
				assert.Equal(t, tt.want, sum.Verdict(), name)
			}
		})
	}
}

// historyOf is the ScenarioHistory the store would read for runs.
func historyOf(runs []*Run) *ScenarioHistory {
	h := &ScenarioHistory{Scenario: "local-web"}
	for _, r := range runs {
		if r.Status.Finished() {
			h.Entries = append(h.Entries, EntryOf(r))
		} else {
			h.Running = append(h.Running, r)
		}
	}
	return h
}

func TestSummarizeFreshnessOverridesTheRuns(t *testing.T) {
	h := time.Hour
	runs := history(hr{ago: 25 * h, status: StatusPassed, holds: true, ms: 1, freshness: 48 * h})
	assert.Equal(t, VerdictHolds, ptr(Summarize(runs, summaryNow, SummaryOptions{})).Verdict(), "the runs recorded 48h")
	sum := Summarize(runs, summaryNow, SummaryOptions{Freshness: 24 * h})
	assert.Equal(t, VerdictStale, sum.Verdict(), "the scenario file now says 24h")
	assert.Equal(t, (24 * h).Milliseconds(), sum.FreshnessMs)
}
