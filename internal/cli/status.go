package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/internal/janitor"
	"github.com/redeploy-drill/drill/results"
)

// scenarioStatus is one row of drill status: the summary plus what only the
// CLI can tell (the owner, and runs whose drill process is gone).
type scenarioStatus struct {
	results.Summary
	Owner string `json:"owner,omitempty"`
	// Aborted lists runs still marked running whose drill process is gone
	// (killed with -9, machine rebooted): `drill gc` cleans up after them.
	Aborted []string `json:"aborted,omitempty"`
	// Verdict is a one-word judgement: holds, broken, stale, aborted (the
	// newest run's drill died), never-run.
	Verdict string `json:"verdict"`
}

func newStatusCommand(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status [SCENARIO...]",
		Short: "The guideline verdict per scenario from the results history; exit 1 when one is stale or broken",
		Long: `status reads the results folder and judges every scenario (or the ones named):
regularly-checked (a run whose guideline holds is younger than spec.freshness), the newest
verdict with its failing checks, pass and flaky rates and the duration trend.
Exit 0 when every scenario is fresh and holding, 1 otherwise: a nightly job can alert on it.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return exitf(ExitUsage, "--output: %q is not table or json", output)
			}
			rows, warnings, err := collectStatus(a.results, args, time.Now())
			if err != nil {
				return exitf(ExitEnvironment, "read results folder %s: %w", a.results, err)
			}
			for _, w := range warnings {
				fmt.Fprintf(a.streams.Err, "drill: warning: %s\n", w.Error())
			}
			if output == "json" {
				enc := json.NewEncoder(a.streams.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rows); err != nil {
					return err
				}
			} else {
				printStatus(a.streams.Out, rows)
			}
			if len(rows) == 0 {
				fmt.Fprintf(a.streams.Err, "drill: no runs in %s yet\n", a.results)
				return &ExitError{Code: ExitFailed}
			}
			for _, r := range rows {
				if r.Verdict != "holds" {
					return &ExitError{Code: ExitFailed}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table|json")
	return cmd
}

func collectStatus(dir string, only []string, now time.Time) ([]scenarioStatus, []results.Warning, error) {
	store := results.Open(dir)
	var (
		hs       []*results.ScenarioHistory
		warnings []results.Warning
		err      error
	)
	// The history index (history.jsonl) answers without reading every run
	// document: 100,000 runs take well under a second.
	if len(only) == 0 {
		hs, warnings, err = store.Histories(results.HistoryOptions{})
		if err != nil {
			return nil, warnings, err
		}
	} else {
		for _, name := range only {
			h, ws, err := store.History(name, results.HistoryOptions{})
			warnings = append(warnings, ws...)
			if err != nil {
				return nil, warnings, err
			}
			hs = append(hs, h)
		}
	}
	rows := make([]scenarioStatus, 0, len(hs))
	for _, h := range hs {
		row := scenarioStatus{Summary: h.Summarize(now, results.SummaryOptions{}), Owner: h.Owner()}
		row.Scenario = h.Scenario
		for _, r := range h.Running {
			if !processAlive(r) {
				row.Aborted = append(row.Aborted, r.RunID)
			}
		}
		row.Verdict = verdict(row, newestRunning(h))
		rows = append(rows, row)
	}
	return rows, warnings, nil
}

func verdict(r scenarioStatus, newest *results.Run) string {
	switch {
	case newest != nil && newest.Status == results.StatusRunning && !processAlive(newest):
		return "aborted"
	case r.Newest == nil:
		return "never-run"
	case r.Newest.Status != results.StatusPassed || !r.Newest.Holds:
		return "broken"
	case !r.RegularlyChecked:
		return "stale"
	}
	return "holds"
}

// processAlive reports whether the drill that wrote a running document is
// still there. Only runs from this host can be judged; others are trusted.
func processAlive(r *results.Run) bool { return janitor.Alive(r) }

func printStatus(w io.Writer, rows []scenarioStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tOWNER\tVERDICT\tNEWEST\tLAST SUCCESS\tREGULARLY-CHECKED\tPASS\tFLAKY\tMEDIAN\tP95\tTREND")
	for _, r := range rows {
		newest, last := "-", "never"
		if r.Newest != nil {
			newest = fmt.Sprintf("%s %s", r.Newest.Status, ago(r.Newest.StartedAt))
		}
		if r.LastSuccess != nil {
			last = ago(*r.LastSuccess)
		}
		trend := "-"
		if r.Slower {
			trend = fmt.Sprintf("slower (median %s)", ms(r.BaselineMs))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%t (%s)\t%.0f%%\t%.0f%%\t%s\t%s\t%s\n",
			r.Scenario, orDash(r.Owner), r.Verdict, newest, last, r.RegularlyChecked, ms(r.FreshnessMs),
			100*r.PassRate, 100*r.FlakyRate, ms(r.MedianMs), ms(r.P95Ms), trend)
	}
	tw.Flush()
	for _, r := range rows {
		if r.Newest != nil {
			for _, c := range r.Newest.Failing {
				fmt.Fprintf(w, "%s: check %s fails: %s\n", r.Scenario, c.Name, c.Detail)
			}
			if r.Newest.Error != nil {
				fmt.Fprintf(w, "%s: %s: %s\n", r.Scenario, r.Newest.Error.Reason, r.Newest.Error.Message)
			}
		}
		if len(r.Aborted) > 0 {
			fmt.Fprintf(w, "%s: aborted runs (their drill process is gone): %s — run `drill gc` to remove what they left\n", r.Scenario, strings.Join(r.Aborted, ", "))
		}
	}
}

func ago(t time.Time) string {
	d := time.Since(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}

func ms(v int64) string {
	if v == 0 {
		return "-"
	}
	return (time.Duration(v) * time.Millisecond).Round(100 * time.Millisecond).String()
}

// newestRunning returns the scenario's newest run when it is still marked
// running (under way, or aborted when its drill is gone), else nil.
func newestRunning(h *results.ScenarioHistory) *results.Run {
	n := len(h.Running)
	if n == 0 {
		return nil
	}
	last := h.Running[n-1]
	if len(h.Entries) > 0 && last.StartedAt.Before(h.Entries[len(h.Entries)-1].StartedAt) {
		return nil
	}
	return last
}
