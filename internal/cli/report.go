package cli

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/report"
)

func newReportCommand(a *app) *cobra.Command {
	var (
		format, out, title, runbookURL string
		runs, chartRuns                int
	)
	names := make([]string, 0, len(report.Formats()))
	for _, f := range report.Formats() {
		names = append(names, string(f))
	}
	cmd := &cobra.Command{
		Use:   "report [SCENARIO...]",
		Short: "Render the results history as html, junit, ctrf, prometheus or markdown",
		Long: `report renders the results history of every scenario (or the ones named):
  html        one self-contained page (no network): verdicts, duration charts with the
              budget, a pass/fail timeline, each run's steps with links to their logs;
              save it at the root of the results folder for the log links to work
  junit       JUnit XML: a suite per run, a case per step and cycle and per guideline check
  ctrf        CTRF JSON (https://ctrf.io), the same tests, drill's details under extra
  prometheus  text format for node_exporter's textfile collector or a Pushgateway
  markdown    a summary for $GITHUB_STEP_SUMMARY or a chat message
It reads the history index (history.jsonl), so it stays fast on long histories.`,
		Example: `  drill report --format html --out drill-results/index.html
  drill report --format prometheus --out /var/lib/node_exporter/textfile/drill.prom
  drill report --format markdown >> "$GITHUB_STEP_SUMMARY"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := report.ParseFormat(format)
			if err != nil {
				return exitf(ExitUsage, "--format: %w", err)
			}
			if runs < 0 || chartRuns < 1 {
				return exitf(ExitUsage, "--runs must be >= 0 and --chart-runs >= 1")
			}
			// Opened first: liveness of other hosts' runs is judged by the
			// store's lock (summaryOptions).
			store, err := a.openResults(cmd.Context(), true)
			if err != nil {
				return err
			}
			opts := []report.LoadOption{report.WithRuns(runs), report.WithChartRuns(chartRuns), report.WithSummaryOptions(a.summaryOptions(0))}
			if len(args) > 0 {
				opts = append(opts, report.WithScenarios(args...))
			}
			h, warnings, err := report.Load(store, time.Now(), opts...)
			if err != nil {
				return exitf(ExitEnvironment, "read results folder %s: %w", a.results, err)
			}
			for _, w := range warnings {
				a.say().warnf("%s", w.Error())
			}
			ro := report.Options{Title: title, ChartRuns: chartRuns, RunbookURL: runbookURL}
			if out == "" || out == "-" {
				return report.Write(a.streams.Out, f, h, ro)
			}
			if err := report.WriteFile(out, f, h, ro); err != nil {
				return exitf(ExitEnvironment, "--out: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "html", strings.Join(names, "|"))
	cmd.Flags().StringVar(&out, "out", "-", "file to write, atomically (default: stdout)")
	cmd.Flags().IntVar(&runs, "runs", report.DefaultRuns, "newest runs per scenario shown in detail (html) or reported (junit, ctrf)")
	cmd.Flags().IntVar(&chartRuns, "chart-runs", report.DefaultChartRuns, "newest runs per scenario on the html charts")
	cmd.Flags().StringVar(&runbookURL, "runbook-url", "", "html: link each scenario to its runbook on this page (drill plan --format html; #runbook-NAME is added)")
	cmd.Flags().StringVar(&title, "title", "", `title of the html and markdown reports (default "drill report")`)
	return cmd
}
