package results

import (
	"slices"
	"time"
)

// Defaults for SummaryOptions.
const (
	// DefaultFreshness is spec.freshness when a scenario sets none.
	DefaultFreshness = 24 * time.Hour
	// DefaultRecent is how many finished runs the rates and durations cover:
	// enough to see a trend, few enough that last month's problems fade.
	DefaultRecent = 20
	// DefaultSlowerFactor flags a run that took more than 1.5 × the median.
	DefaultSlowerFactor = 1.5
)

// SummaryOptions tunes Summarize. The zero value uses the defaults.
type SummaryOptions struct {
	// Recent is the number of newest finished runs that PassRate, HoldRate,
	// FlakyRate, the durations and Steps cover (DefaultRecent when <= 0).
	Recent int
	// DefaultFreshness applies when no run carries FreshnessMs
	// (DefaultFreshness when <= 0).
	DefaultFreshness time.Duration
	// SlowerFactor is the ratio to the median above which Slower is set
	// (DefaultSlowerFactor when <= 0).
	SlowerFactor float64
	// Freshness, when > 0, is the scenario's freshness whatever the runs
	// recorded: the scenario file's spec.freshness as it reads today, which
	// may have changed since the runs were made.
	Freshness time.Duration
	// Alive tells whether the drill that wrote a document still marked
	// running is still there. A run it says is gone (killed with -9, the
	// machine rebooted) is listed in Summary.Aborted, and when it is the
	// newest run the verdict is VerdictAborted. This package cannot see
	// processes, so nil trusts every running document; drill passes a
	// check of the document's pid on this host.
	Alive func(*Run) bool
}

// RunSummary is the part of one run that drill status prints.
type RunSummary struct {
	RunID      string    `json:"runId"`
	Status     Status    `json:"status"`
	Holds      bool      `json:"holds"`
	Failing    []Check   `json:"failing,omitempty"`
	StartedAt  time.Time `json:"startedAt"`
	DurationMs int64     `json:"durationMs"`
	Error      *Error    `json:"error,omitempty"`
}

// StepStat is the duration of one step name over the recent runs.
type StepStat struct {
	Name  string `json:"name"`
	Phase string `json:"phase"`
	// Count is the number of passed executions measured (every cycle counts).
	Count    int   `json:"count"`
	MedianMs int64 `json:"medianMs"`
	P95Ms    int64 `json:"p95Ms"`
}

// Summary is one scenario's history as drill status judges it
// (docs/contract.md section 6.2).
type Summary struct {
	Scenario string `json:"scenario"`
	// Runs is the number of run documents summarized, whatever their status.
	Runs int `json:"runs"`
	// Running lists runs still marked running, oldest first. Some may belong
	// to a drill that died: those SummaryOptions.Alive says are gone are
	// also in Aborted.
	Running []string `json:"running,omitempty"`
	// Aborted lists the runs of Running whose drill is gone, oldest first:
	// `drill gc` removes what they left and marks them canceled.
	Aborted []string `json:"aborted,omitempty"`
	// NewestAborted is set when the newest run of all, finished or not, is
	// one of Aborted: the scenario's verdict is then aborted, whatever the
	// runs before it say.
	NewestAborted bool `json:"newestAborted,omitempty"`
	// Newest is the newest finished run, nil when no run has finished.
	Newest *RunSummary `json:"newest,omitempty"`
	// LastSuccess is the start of the newest run that passed with the
	// guideline holding.
	LastSuccess *time.Time `json:"lastSuccess,omitempty"`
	// FreshnessMs is the scenario's spec.freshness: SummaryOptions.Freshness
	// when set, else taken from the newest run that records one.
	FreshnessMs int64 `json:"freshnessMs"`
	// RegularlyChecked is the regularly-checked verdict: LastSuccess is
	// younger than the freshness. Stale is its negation, kept so templates
	// and JSON readers need no logic.
	RegularlyChecked bool `json:"regularlyChecked"`
	Stale            bool `json:"stale"`
	// Recent is the number of finished runs the statistics below cover.
	Recent int `json:"recent"`
	// PassRate is the share of Recent runs that passed; HoldRate the share
	// that passed with the guideline holding; FlakyRate the share in which
	// some step passed only after a retry.
	PassRate  float64 `json:"passRate"`
	HoldRate  float64 `json:"holdRate"`
	FlakyRate float64 `json:"flakyRate"`
	// MedianMs and P95Ms are the durations of the passed runs among Recent:
	// a failed run stops early or hangs until a timeout, so its duration says
	// nothing about how long a redeploy takes.
	MedianMs int64 `json:"medianMs"`
	P95Ms    int64 `json:"p95Ms"`
	// Slower is set when the newest finished run passed and took more than
	// SlowerFactor × BaselineMs, the median of the passed runs before it
	// among Recent.
	Slower     bool  `json:"slower"`
	BaselineMs int64 `json:"baselineMs,omitempty"`
	// Steps are per-step-name durations of the passed step executions among
	// Recent, in the order of the newest run.
	Steps []StepStat `json:"steps,omitempty"`
}

// Summarize judges one scenario's history at time now. runs may come in any
// order (Store.Runs returns them sorted); nil entries are ignored. Runs still
// running count in Runs and Running but in nothing else.
//
// Medians of an even count are the mean of the two middle values rounded
// down; P95 is the nearest-rank percentile (the smallest value at or above
// 95% of the samples), so both are always durations that were observed or
// lie between two observed ones.
//
// Summarize and ScenarioHistory.Summarize share one implementation, so the
// verdict from the documents and the verdict from the history index agree.
func Summarize(runs []*Run, now time.Time, opts SummaryOptions) Summary {
	opts = opts.withDefaults()
	sorted := make([]*Run, 0, len(runs))
	for _, r := range runs {
		if r != nil {
			sorted = append(sorted, r)
		}
	}
	if !slices.IsSortedFunc(sorted, CompareRuns) {
		slices.SortStableFunc(sorted, CompareRuns)
	}
	// Only the newest Recent finished runs are looked at step by step:
	// converting the steps of every run would make a long history slow.
	entries := make([]HistoryEntry, len(sorted))
	ptrs := make([]*HistoryEntry, len(sorted))
	detailed := 0
	for i := len(sorted) - 1; i >= 0; i-- {
		r := sorted[i]
		if r.Status.Finished() && detailed < opts.Recent {
			entries[i] = EntryOf(r)
			detailed++
		} else {
			entries[i] = entryHead(r)
		}
		ptrs[i] = &entries[i]
	}
	return summarize(ptrs, now, opts, aborted(sorted, opts.Alive))
}

// aborted returns the IDs of the runs still marked running whose drill alive
// says is gone (none when alive is nil).
func aborted(runs []*Run, alive func(*Run) bool) map[string]bool {
	if alive == nil {
		return nil
	}
	var dead map[string]bool
	for _, r := range runs {
		if r != nil && !r.Status.Finished() && !alive(r) {
			if dead == nil {
				dead = map[string]bool{}
			}
			dead[r.RunID] = true
		}
	}
	return dead
}

// SummarizeEntries is Summarize over history entries (see
// ScenarioHistory). entries may come in any order; the newest
// opts.Recent finished ones must carry their Steps for the step statistics.
// Entries carry no pid, so opts.Alive is not consulted: use
// ScenarioHistory.Summarize to tell aborted runs.
func SummarizeEntries(entries []HistoryEntry, now time.Time, opts SummaryOptions) Summary {
	ptrs := make([]*HistoryEntry, len(entries))
	for i := range entries {
		ptrs[i] = &entries[i]
	}
	if !slices.IsSortedFunc(ptrs, CompareEntries) {
		slices.SortStableFunc(ptrs, CompareEntries)
	}
	return summarize(ptrs, now, opts.withDefaults(), nil)
}

func (opts SummaryOptions) withDefaults() SummaryOptions {
	if opts.Recent <= 0 {
		opts.Recent = DefaultRecent
	}
	if opts.DefaultFreshness <= 0 {
		opts.DefaultFreshness = DefaultFreshness
	}
	if opts.SlowerFactor <= 0 {
		opts.SlowerFactor = DefaultSlowerFactor
	}
	if opts.Freshness > 0 {
		opts.DefaultFreshness = opts.Freshness
	}
	return opts
}

// summarize judges entries sorted oldest first; dead holds the IDs of the
// running ones whose drill is gone.
func summarize(sorted []*HistoryEntry, now time.Time, opts SummaryOptions, dead map[string]bool) Summary {
	var sum Summary
	sum.Runs = len(sorted)
	freshness := opts.DefaultFreshness
	foundFreshness := false
	var finished []*HistoryEntry
	for i := len(sorted) - 1; i >= 0; i-- {
		r := sorted[i]
		if sum.Scenario == "" {
			sum.Scenario = r.Scenario
		}
		if !foundFreshness && r.FreshnessMs > 0 && opts.Freshness <= 0 {
			freshness = time.Duration(r.FreshnessMs) * time.Millisecond
			foundFreshness = true
		}
		if !r.Status.Finished() {
			sum.Running = append(sum.Running, r.RunID)
			if dead[r.RunID] {
				sum.Aborted = append(sum.Aborted, r.RunID)
				sum.NewestAborted = sum.NewestAborted || i == len(sorted)-1
			}
			continue
		}
		if sum.LastSuccess == nil && r.Succeeded() {
			t := r.StartedAt.UTC()
			sum.LastSuccess = &t
		}
		if len(finished) < opts.Recent {
			finished = append(finished, r) // newest first
		}
	}
	slices.Reverse(sum.Running)
	slices.Reverse(sum.Aborted)
	sum.FreshnessMs = freshness.Milliseconds()
	sum.RegularlyChecked = sum.LastSuccess != nil && now.Sub(*sum.LastSuccess) < freshness
	sum.Stale = !sum.RegularlyChecked

	if len(finished) == 0 {
		return sum
	}
	newest := finished[0]
	sum.Newest = &RunSummary{
		RunID:      newest.RunID,
		Status:     newest.Status,
		Holds:      newest.Holds,
		Failing:    newest.Failing,
		StartedAt:  newest.StartedAt.UTC(),
		DurationMs: newest.DurationMs,
		Error:      newest.Error,
	}

	sum.Recent = len(finished)
	var passed, holding, flaky int
	var durations []int64 // passed runs, newest first
	type stepSamples struct {
		phase string
		ms    []int64
	}
	steps := map[string]*stepSamples{}
	var stepOrder []string
	for _, r := range finished {
		if r.Status == StatusPassed {
			passed++
			durations = append(durations, r.DurationMs)
		}
		if r.Succeeded() {
			holding++
		}
		if r.Flaky {
			flaky++
		}
		for _, st := range r.Steps {
			if st.Status != StatusPassed {
				continue
			}
			s := steps[st.Name]
			if s == nil {
				s = &stepSamples{phase: st.Phase}
				steps[st.Name] = s
				stepOrder = append(stepOrder, st.Name)
			}
			s.ms = append(s.ms, st.DurationMs)
		}
	}
	n := float64(len(finished))
	sum.PassRate = float64(passed) / n
	sum.HoldRate = float64(holding) / n
	sum.FlakyRate = float64(flaky) / n
	sum.MedianMs, sum.P95Ms = medianP95(durations)

	if newest.Status == StatusPassed && len(durations) > 1 {
		sum.BaselineMs, _ = medianP95(durations[1:])
		sum.Slower = float64(newest.DurationMs) > opts.SlowerFactor*float64(sum.BaselineMs)
	}

	for _, name := range stepOrder {
		s := steps[name]
		med, p95 := medianP95(s.ms)
		sum.Steps = append(sum.Steps, StepStat{Name: name, Phase: s.phase, Count: len(s.ms), MedianMs: med, P95Ms: p95})
	}
	return sum
}

// medianP95 returns the median and nearest-rank 95th percentile of values,
// or zeros when there are none. values is not modified.
func medianP95(values []int64) (median, p95 int64) {
	n := len(values)
	if n == 0 {
		return 0, 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	if n%2 == 1 {
		median = s[n/2]
	} else {
		median = s[n/2-1] + (s[n/2]-s[n/2-1])/2
	}
	rank := (95*n + 99) / 100 // ceil(0.95 n), 1-based
	return median, s[rank-1]
}

// Verdict is a one-word judgement of a scenario, the word drill status,
// the reports and the dashboard show.
type Verdict string

const (
	// VerdictHolds: the newest drill passed with the guideline holding,
	// recently enough (regularly-checked).
	VerdictHolds Verdict = "holds"
	// VerdictBroken: the newest drill failed, or passed without the
	// guideline holding.
	VerdictBroken Verdict = "broken"
	// VerdictStale: the newest drill holds, but it is older than the
	// scenario's freshness.
	VerdictStale Verdict = "stale"
	// VerdictNeverRun: no drill of the scenario has finished.
	VerdictNeverRun Verdict = "never-run"
	// VerdictAborted: the newest run is still marked running but its drill
	// is gone (SummaryOptions.Alive): `drill gc` cleans up after it.
	VerdictAborted Verdict = "aborted"
)

// Verdict judges the summary: aborted (the newest run's drill died before
// finishing), never-run, broken (the newest finished run failed or its
// guideline does not hold), stale (not regularly checked) or holds. A run
// under way does not change the verdict until it finishes. Only holds is
// good: drill status exits 1 on any other.
func (s *Summary) Verdict() Verdict {
	switch {
	case s.NewestAborted:
		return VerdictAborted
	case s.Newest == nil:
		return VerdictNeverRun
	case s.Newest.Status != StatusPassed || !s.Newest.Holds:
		return VerdictBroken
	case !s.RegularlyChecked:
		return VerdictStale
	}
	return VerdictHolds
}
