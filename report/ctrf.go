package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/redeploy-drill/drill/results"
)

// CTRFSpecVersion is the Common Test Report Format version drill writes.
const CTRFSpecVersion = "0.0.0"

// The CTRF rendering (https://ctrf.io): one test per step of each cycle of
// each detailed run, plus one per guideline check, like the JUnit one.
// drill's own details (run, cycle, phase, attempts, timeout, log) go under
// each test's extra, where CTRF keeps tool-specific fields.

type ctrfReport struct {
	ReportFormat string      `json:"reportFormat"`
	SpecVersion  string      `json:"specVersion"`
	Timestamp    string      `json:"timestamp"`
	GeneratedBy  string      `json:"generatedBy"`
	Results      ctrfResults `json:"results"`
}

type ctrfResults struct {
	Tool    ctrfTool    `json:"tool"`
	Summary ctrfSummary `json:"summary"`
	Tests   []ctrfTest  `json:"tests"`
	Extra   ctrfExtra   `json:"extra"`
}

type ctrfTool struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type ctrfSummary struct {
	Tests    int   `json:"tests"`
	Passed   int   `json:"passed"`
	Failed   int   `json:"failed"`
	Skipped  int   `json:"skipped"`
	Pending  int   `json:"pending"`
	Other    int   `json:"other"`
	Flaky    int   `json:"flaky"`
	Suites   int   `json:"suites"`
	Start    int64 `json:"start"`
	Stop     int64 `json:"stop"`
	Duration int64 `json:"duration"`
}

type ctrfExtra struct {
	Scenarios []ctrfScenario `json:"scenarios"`
}

// ctrfScenario carries the verdict of each scenario: what a CTRF consumer
// cannot derive from the tests.
type ctrfScenario struct {
	Name             string          `json:"name"`
	Owner            string          `json:"owner,omitempty"`
	Verdict          results.Verdict `json:"verdict"`
	RegularlyChecked bool            `json:"regularlyChecked"`
	PassRate         float64         `json:"passRate"`
	FlakyRate        float64         `json:"flakyRate"`
	MedianMs         int64           `json:"medianMs"`
	Slower           bool            `json:"slower"`
}

type ctrfTest struct {
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Duration  int64     `json:"duration"`
	Start     int64     `json:"start,omitempty"`
	Stop      int64     `json:"stop,omitempty"`
	Suite     []string  `json:"suite"`
	Message   string    `json:"message,omitempty"`
	Trace     string    `json:"trace,omitempty"`
	RawStatus string    `json:"rawStatus"`
	Type      string    `json:"type"`
	FilePath  string    `json:"filePath,omitempty"`
	Retries   int       `json:"retries,omitempty"`
	Flaky     bool      `json:"flaky,omitempty"`
	Extra     ctrfStepX `json:"extra"`
}

type ctrfStepX struct {
	Scenario   string `json:"scenario"`
	Owner      string `json:"owner,omitempty"`
	RunID      string `json:"runId"`
	Cycle      int    `json:"cycle,omitempty"`
	Step       string `json:"step,omitempty"`
	Phase      string `json:"phase,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Attempts   int    `json:"attempts,omitempty"`
	DurationMs int64  `json:"durationMs"`
	TimeoutMs  int64  `json:"timeoutMs,omitempty"`
	Log        string `json:"log,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Check      string `json:"check,omitempty"`
}

// ctrfStatus maps drill's statuses onto CTRF's closed set; rawStatus keeps
// drill's own word.
func ctrfStatus(s results.Status) string {
	switch s {
	case results.StatusPassed:
		return "passed"
	case results.StatusFailed, results.StatusTimedOut:
		return "failed"
	case results.StatusSkipped:
		return "skipped"
	}
	return "other" // canceled, running
}

func writeCTRF(w io.Writer, h *History) error {
	rep := ctrfReport{
		ReportFormat: "CTRF",
		SpecVersion:  CTRFSpecVersion,
		Timestamp:    h.GeneratedAt.UTC().Format("2006-01-02T15:04:05Z07:00"),
		GeneratedBy:  "drill",
		Results: ctrfResults{
			Tool:  ctrfTool{Name: "drill"},
			Tests: []ctrfTest{},
			Extra: ctrfExtra{Scenarios: []ctrfScenario{}},
		},
	}
	sum := &rep.Results.Summary
	for _, sc := range h.Scenarios {
		rep.Results.Extra.Scenarios = append(rep.Results.Extra.Scenarios, ctrfScenario{
			Name: sc.Name, Owner: sc.Owner, Verdict: sc.Verdict, RegularlyChecked: sc.Summary.RegularlyChecked,
			PassRate: sc.Summary.PassRate, FlakyRate: sc.Summary.FlakyRate, MedianMs: sc.Summary.MedianMs, Slower: sc.Summary.Slower,
		})
		runs := append(append([]*results.Run(nil), sc.Runs...), sc.Running...)
		for _, r := range runs {
			sum.Suites++
			if rep.Results.Tool.Version == "" {
				rep.Results.Tool.Version = r.Tools["drill"]
			}
			start := r.StartedAt.UnixMilli()
			stop := start + r.DurationMs
			if sum.Start == 0 || start < sum.Start {
				sum.Start = start
			}
			sum.Stop = max(sum.Stop, stop)
			for _, t := range ctrfTestsOf(r) {
				sum.Tests++
				switch t.Status {
				case "passed":
					sum.Passed++
				case "failed":
					sum.Failed++
				case "skipped":
					sum.Skipped++
				default:
					sum.Other++
				}
				if t.Flaky {
					sum.Flaky++
				}
				rep.Results.Tests = append(rep.Results.Tests, t)
			}
		}
	}
	sum.Duration = sum.Stop - sum.Start
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func ctrfTestsOf(r *results.Run) []ctrfTest {
	var out []ctrfTest
	for _, c := range r.Cycles {
		for _, st := range c.Steps {
			t := ctrfTest{
				Name:      fmt.Sprintf("%s / cycle %d / %s", r.Scenario.Name, c.Index, st.Name),
				Status:    ctrfStatus(st.Status),
				Duration:  st.DurationMs,
				Suite:     []string{r.Scenario.Name, r.RunID, fmt.Sprintf("cycle %d", c.Index)},
				RawStatus: string(st.Status),
				Type:      "drill-step",
				FilePath:  r.Scenario.File,
				Flaky:     st.Flaky,
				Extra: ctrfStepX{
					Scenario: r.Scenario.Name, Owner: cmpOr(st.Owner, r.Scenario.Owner), RunID: r.RunID,
					Cycle: c.Index, Step: st.Name, Phase: st.Phase, Kind: st.Kind, Attempts: st.Attempts,
					DurationMs: st.DurationMs, TimeoutMs: st.TimeoutMs, Log: st.Log,
				},
			}
			if st.Attempts > 1 {
				t.Retries = st.Attempts - 1
			}
			if st.StartedAt != nil {
				t.Start = st.StartedAt.UnixMilli()
				t.Stop = t.Start + st.DurationMs
			}
			if st.Error != nil {
				t.Message = st.Error.Message
				t.Trace = st.Error.OutputTail
				t.Extra.Reason = string(st.Error.Reason)
			}
			out = append(out, t)
		}
	}
	if r.Guideline != nil {
		for _, c := range r.Guideline.Checks {
			t := ctrfTest{
				Name:      fmt.Sprintf("%s / guideline / %s", r.Scenario.Name, c.Name),
				Status:    "passed",
				Suite:     []string{r.Scenario.Name, r.RunID, "guideline"},
				RawStatus: "ok",
				Type:      "drill-guideline-check",
				FilePath:  r.Scenario.File,
				Extra:     ctrfStepX{Scenario: r.Scenario.Name, Owner: r.Scenario.Owner, RunID: r.RunID, Check: c.Name},
			}
			if !c.OK {
				t.Status, t.RawStatus, t.Message = "failed", "failing", c.Detail
			}
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		t := ctrfTest{
			Name: r.Scenario.Name + " / drill", Status: ctrfStatus(r.Status), Duration: r.DurationMs,
			Suite: []string{r.Scenario.Name, r.RunID}, RawStatus: string(r.Status), Type: "drill-run", FilePath: r.Scenario.File,
			Extra: ctrfStepX{Scenario: r.Scenario.Name, Owner: r.Scenario.Owner, RunID: r.RunID, DurationMs: r.DurationMs},
		}
		if r.Error != nil {
			t.Message, t.Trace, t.Extra.Reason = r.Error.Message, r.Error.OutputTail, string(r.Error.Reason)
		}
		out = append(out, t)
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
