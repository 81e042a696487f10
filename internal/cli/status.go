package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/internal/notify"
	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// scenarioStatus is one row of drill status: the summary, its verdict and
// the owner.
type scenarioStatus struct {
	results.Summary
	Owner string `json:"owner,omitempty"`
	// File is the scenario file, when status was given it (or a folder
	// holding it), else the file the newest run recorded.
	File string `json:"file,omitempty"`
	// Verdict is a one-word judgement: holds, broken, stale, aborted (the
	// newest run's drill died), never-run.
	Verdict results.Verdict `json:"verdict"`
}

func newStatusCommand(a *app) *cobra.Command {
	var output string
	var nf notifyFlags
	cmd := &cobra.Command{
		Use:   "status [SCENARIO|PATH...]",
		Short: "The guideline verdict per scenario from the results history; exit 1 when one is not holding",
		Long: `status judges scenarios from the results folder: regularly-checked (a run whose guideline
holds is younger than spec.freshness), the newest verdict with its failing checks, pass and
flaky rates and the duration trend.

With no argument it judges every scenario of the results folder. An argument that is a file
or a folder is read as scenarios (as drill list reads them): every scenario found is judged
with its file's own spec.freshness, including one that never ran (verdict never-run), so a
nightly job that silently stopped running is caught. Any other argument is a scenario name
that must have results.

Verdicts: holds, broken (the newest drill failed, or its guideline does not hold), stale (no
holding run within spec.freshness), aborted (the newest run's drill process died while the
run was under way: run drill gc), never-run.
Exit 0 when every scenario holds, 1 otherwise (a nightly job can alert on it), 2 for an
unknown scenario name or an invalid scenario file.`,
		Example: `  drill status                      # every scenario with results
  drill status scenarios/           # every scenario file under scenarios/, never-run ones too
  drill status web -o json          # one scenario by name`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return exitf(ExitUsage, "--output: %q is not table or json", output)
			}
			if err := nf.check(); err != nil {
				return err
			}
			store, err := a.openResults(cmd.Context(), true)
			if err != nil {
				return err
			}
			rows, warnings, err := collectStatus(a, args, time.Now())
			for _, w := range warnings {
				a.say().warnf("%s", w.Error())
			}
			if err != nil {
				return err
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
			// A change no run can notice (a scenario went stale) is told
			// here, by the cron that runs drill status --notify.
			for _, w := range announceSummaries(cmd.Context(), notify.New(nf.options(a, store)), rows) {
				a.say().warnf("%s", w)
			}
			if len(rows) == 0 {
				a.say().infof("no runs in %s yet", a.results)
				return &ExitError{Code: ExitFailed}
			}
			for _, r := range rows {
				if r.Verdict != results.VerdictHolds {
					return &ExitError{Code: ExitFailed}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table|json")
	nf.add(cmd, "when a scenario's state changed since that webhook was last told (went stale, failing, recovered)")
	return cmd
}

// summaryOptions are how drill judges a scenario everywhere (status, list,
// report, serve): a running document whose drill is gone is aborted.
// freshness is the scenario file's spec.freshness, 0 when judging from the
// results folder alone (the runs' recorded freshness then applies).
func (a *app) summaryOptions(freshness time.Duration) results.SummaryOptions {
	return results.SummaryOptions{Alive: procs.RunAliveIn(openStore(a)), Freshness: freshness}
}

// statusTarget is one scenario drill status was asked about.
type statusTarget struct {
	name, owner, file string
	freshness         time.Duration
	// fromFile is set for a scenario read from a file: it is judged even
	// without results (never-run).
	fromFile bool
}

// collectStatus judges the scenarios args name (every scenario of the
// results folder when there is none). Its errors are ExitErrors.
func collectStatus(a *app, args []string, now time.Time) ([]scenarioStatus, []results.Warning, error) {
	store := openStore(a)
	dir := a.results
	if len(args) == 0 {
		// The history index (history.jsonl) answers without reading every
		// run document: 100,000 runs take well under a second.
		hs, warnings, err := store.Histories(resultstore.HistoryOptions{})
		if err != nil {
			return nil, warnings, exitf(ExitEnvironment, "read results folder %s: %w", dir, err)
		}
		rows := make([]scenarioStatus, 0, len(hs))
		for _, h := range hs {
			rows = append(rows, a.judge(h, statusTarget{name: h.Scenario}, now))
		}
		return rows, warnings, nil
	}

	targets, err := statusTargets(a, args)
	if err != nil {
		return nil, nil, err
	}
	var (
		rows     []scenarioStatus
		warnings []results.Warning
		unknown  []string
	)
	for _, t := range targets {
		h, ws, err := store.History(t.name, resultstore.HistoryOptions{})
		warnings = append(warnings, ws...)
		if err != nil && (t.fromFile || !errors.Is(err, results.ErrInvalidRun)) {
			return nil, warnings, exitf(ExitEnvironment, "read results folder %s: %w", dir, err)
		}
		if !t.fromFile && (err != nil || len(h.Entries)+len(h.Running) == 0) {
			unknown = append(unknown, t.name)
			continue
		}
		rows = append(rows, a.judge(h, t, now))
	}
	switch len(unknown) {
	case 0:
	case 1:
		return nil, warnings, exitf(ExitUsage, "unknown scenario %s: no results in %s, and no file or folder of that name", unknown[0], dir)
	default:
		return nil, warnings, exitf(ExitUsage, "unknown scenarios %s: no results in %s, and no files or folders of those names", strings.Join(unknown, ", "), dir)
	}
	return rows, warnings, nil
}

// statusTargets sorts args into scenario files (an existing file or folder,
// read with the scenario loader) and scenario names, in the order given; a
// scenario named twice is judged once.
func statusTargets(a *app, args []string) ([]statusTarget, error) {
	var paths []string
	isPath := map[string]bool{}
	for _, arg := range args {
		// Only "does not exist" makes an argument a name: a path that cannot
		// be read is reported by the loader.
		if _, err := os.Stat(arg); !errors.Is(err, fs.ErrNotExist) {
			paths = append(paths, arg)
			isPath[arg] = true
		}
	}
	var fromPaths []statusTarget
	if len(paths) > 0 {
		list, err := loadAll(a, paths)
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			fromPaths = append(fromPaths, statusTarget{
				name: s.Metadata.Name, owner: s.Metadata.Owner, file: s.File,
				freshness: s.Spec.Freshness.D(), fromFile: true,
			})
		}
	}
	var out []statusTarget
	seen := map[string]bool{}
	add := func(t statusTarget) {
		if !seen[t.name] {
			seen[t.name] = true
			out = append(out, t)
		}
	}
	pathsDone := false
	for _, arg := range args {
		switch {
		case !isPath[arg]:
			add(statusTarget{name: arg})
		case !pathsDone:
			// The loader sorts what it finds and checks names are unique
			// across all paths, so the files come as one block where the
			// first path was.
			pathsDone = true
			for _, t := range fromPaths {
				add(t)
			}
		}
	}
	return out, nil
}

// judge is one row of drill status.
func (a *app) judge(h *results.ScenarioHistory, t statusTarget, now time.Time) scenarioStatus {
	row := scenarioStatus{Summary: h.Summarize(now, a.summaryOptions(t.freshness)), Owner: t.owner, File: t.file}
	row.Scenario = t.name
	if row.Owner == "" {
		row.Owner = h.Owner()
	}
	if row.File == "" && len(h.Entries) > 0 {
		row.File = h.Entries[len(h.Entries)-1].File
	}
	row.Verdict = row.Summary.Verdict()
	return row
}

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
		if r.Verdict == results.VerdictNeverRun && len(r.Running) == 0 {
			fmt.Fprintf(w, "%s: no drill of it has run yet\n", r.Scenario)
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
