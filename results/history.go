package results

import (
	"cmp"
	"slices"
	"time"
)

// HistoryFile is the name of a scenario's history index,
// <scenario>/history.jsonl: one compact line per finished run. drill status,
// drill report and drill serve read it instead of every run document, so a
// history of 100,000 drills is judged in well under a second.
//
// The file is only a cache of the documents: FinishRun appends to it under
// the index lock, every read reconciles it with the documents in the folder
// (a finished document it lacks is read and added, a line whose document is
// gone is dropped, a damaged line is rebuilt from its document), and
// RebuildIndex rewrites it from the documents.
const HistoryFile = "history.jsonl"

// HistoryEntry is one finished run as history.jsonl records it: what
// status, reports and dashboards need without opening the run document.
//
// The first six fields are the head of a line, all that older entries are
// read for: keep them first, in this order, never omitted (see
// parseEntryHead).
type HistoryEntry struct {
	RunID string `json:"runId"`
	// Scenario is not stored: the file lives in the scenario's folder.
	Scenario    string    `json:"-"`
	Status      Status    `json:"status"`
	Holds       bool      `json:"holds"`
	StartedAt   time.Time `json:"startedAt"`
	DurationMs  int64     `json:"durationMs"`
	FreshnessMs int64     `json:"freshnessMs"`
	BudgetMs    int64     `json:"budgetMs,omitempty"`
	File        string    `json:"file,omitempty"`
	Owner       string    `json:"owner,omitempty"`
	Trigger     string    `json:"trigger,omitempty"`
	Cycles      int       `json:"cycles"`
	// Flaky is true when some step passed only after a retry.
	Flaky   bool          `json:"flaky,omitempty"`
	Failing []Check       `json:"failing,omitempty"`
	Error   *Error        `json:"error,omitempty"`
	Steps   []HistoryStep `json:"steps,omitempty"`
}

// HistoryStep is one step of one cycle in a HistoryEntry.
type HistoryStep struct {
	Cycle      int    `json:"cycle"`
	Name       string `json:"name"`
	Phase      string `json:"phase"`
	Status     Status `json:"status"`
	DurationMs int64  `json:"durationMs"`
	Attempts   int    `json:"attempts,omitempty"`
	Flaky      bool   `json:"flaky,omitempty"`
}

// Succeeded reports whether the run passed with the guideline holding, the
// condition for LastSuccess and regularly-checked.
func (e *HistoryEntry) Succeeded() bool { return e.Status == StatusPassed && e.Holds }

// EntryOf returns the history entry of r.
func EntryOf(r *Run) HistoryEntry {
	e := entryHead(r)
	e.Error = r.Error
	n := 0
	for _, c := range r.Cycles {
		n += len(c.Steps)
	}
	if n > 0 {
		e.Steps = make([]HistoryStep, 0, n)
	}
	for _, c := range r.Cycles {
		for _, st := range c.Steps {
			e.Steps = append(e.Steps, HistoryStep{
				Cycle: c.Index, Name: st.Name, Phase: st.Phase, Status: st.Status,
				DurationMs: st.DurationMs, Attempts: st.Attempts, Flaky: st.Flaky,
			})
		}
	}
	return e
}

// entryHead is EntryOf without Error and Steps.
func entryHead(r *Run) HistoryEntry {
	e := HistoryEntry{
		RunID:       r.RunID,
		Scenario:    r.Scenario.Name,
		Status:      r.Status,
		Holds:       r.Guideline != nil && r.Guideline.Holds,
		StartedAt:   r.StartedAt.UTC(),
		DurationMs:  r.DurationMs,
		BudgetMs:    r.BudgetMs,
		FreshnessMs: r.FreshnessMs,
		File:        r.Scenario.File,
		Owner:       r.Scenario.Owner,
		Trigger:     r.Trigger,
		Cycles:      len(r.Cycles),
		Failing:     r.Guideline.Failing(),
	}
	for _, c := range r.Cycles {
		for _, st := range c.Steps {
			e.Flaky = e.Flaky || st.Flaky
		}
	}
	return e
}

// CompareEntries orders entries as CompareRuns orders runs.
func CompareEntries(a, b *HistoryEntry) int {
	if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.RunID, b.RunID)
}

// ScenarioHistory is one scenario's runs as read through its history index.
type ScenarioHistory struct {
	Scenario string
	// Entries are the finished runs, oldest first (by start time, then run
	// ID). The newest HistoryOptions.Detail of them are complete; older ones
	// carry only RunID, Scenario, Status, Holds, StartedAt, DurationMs and
	// FreshnessMs, all that a summary needs of them.
	Entries []HistoryEntry
	// Running are the documents still marked running, oldest first. Some
	// may belong to a drill that died (see Run.Pid).
	Running []*Run
}

// Summarize judges the history as Summarize judges the run documents,
// telling aborted runs from Running with opts.Alive. Entries must carry
// Steps for the newest opts.Recent finished runs, which History does when
// HistoryOptions.Detail is at least opts.Recent.
func (h *ScenarioHistory) Summarize(now time.Time, opts SummaryOptions) Summary {
	opts = opts.withDefaults()
	ptrs := make([]*HistoryEntry, 0, len(h.Entries)+len(h.Running))
	for i := range h.Entries {
		ptrs = append(ptrs, &h.Entries[i])
	}
	for _, r := range h.Running {
		e := entryHead(r)
		ptrs = append(ptrs, &e)
	}
	if !slices.IsSortedFunc(ptrs, CompareEntries) {
		slices.SortStableFunc(ptrs, CompareEntries)
	}
	sum := summarize(ptrs, now, opts, aborted(h.Running, opts.Alive))
	if sum.Scenario == "" {
		sum.Scenario = h.Scenario
	}
	return sum
}

// Owner is the owner recorded by the newest run, or "".
func (h *ScenarioHistory) Owner() string {
	for i := len(h.Running) - 1; i >= 0; i-- {
		if o := h.Running[i].Scenario.Owner; o != "" {
			return o
		}
	}
	for i := len(h.Entries) - 1; i >= 0; i-- {
		if o := h.Entries[i].Owner; o != "" {
			return o
		}
	}
	return ""
}

// CompareRuns orders runs oldest first: by start time, then by run ID (IDs
// of the same second differ in their random suffix), the order every
// listing of a results folder uses.
func CompareRuns(a, b *Run) int {
	if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.RunID, b.RunID)
}
