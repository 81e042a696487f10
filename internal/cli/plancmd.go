package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/internal/objectstore"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/runbook"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/scenarios"
)

func newPlanCommand(a *app) *cobra.Command {
	var (
		cycles int
		format string
		shards shardFlags
	)
	cmd := &cobra.Command{
		Use:   "plan PATH",
		Short: "Print what a run would do, in order, with timeouts and budget; nothing is run or created",
		Long: `plan prints, for each scenario, the steps of one cycle in order with their phase, timeout,
retries and what they run; nothing is run or created.

--format markdown or html prints it as a runbook people read: each phase's steps with their
owner, what they run (whole scripts included), timeout and retries, what the manual steps
ask of a person, a "who does what" table by owner, and, when the results folder has runs of
the scenario, each step's median and p95 duration. html is one self-contained page with an
anchor per scenario (#runbook-NAME), which drill report --runbook-url links to.`,
		Example: `  drill plan scenarios/local-web.yaml
  drill plan --format markdown scenarios/ > RUNBOOK.md
  drill plan --format html scenarios/ > public/runbook.html`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "markdown" && format != "html" {
				return exitf(ExitUsage, "--format: %q is not text, markdown or html", format)
			}
			list, err := loadAll(a, args)
			if err != nil {
				return err
			}
			all := len(list)
			list, sh, err := selectShard(&shards, list)
			if err != nil {
				return err
			}
			if format != "text" {
				return a.printRunbooks(cmd.Context(), format, list, cycles)
			}
			if !sh.IsZero() {
				names := make([]string, len(list))
				for i, s := range list {
					names[i] = s.Metadata.Name
				}
				fmt.Fprintf(a.streams.Out, "shard %s: %d of the %d scenarios found: %s\n\n", sh, len(list), all, orDash(strings.Join(names, ", ")))
			}
			for i, s := range list {
				if i > 0 {
					fmt.Fprintln(a.streams.Out)
				}
				runbook.Text(a.streams.Out, runbook.Build(s, cycles, nil))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&cycles, "cycles", 0, "show the plan for this many cycles instead of spec.cycles")
	cmd.Flags().StringVarP(&format, "format", "f", "text", "text|markdown|html (markdown and html: a runbook, with measured durations from the results folder)")
	shards.add(cmd)
	return cmd
}

// printRunbooks renders the scenarios as runbooks, with each step's
// measured durations from the results folder when it has runs.
func (a *app) printRunbooks(ctx context.Context, format string, list []*scenarios.Scenario, cycles int) error {
	var store *resultstore.Store
	if _, err := os.Stat(a.results); err == nil || objectstore.IsURL(a.results) {
		s, err := a.openResults(ctx, true)
		if err != nil {
			return err
		}
		store = s
	}
	rbs := make([]*runbook.Runbook, len(list))
	for i, s := range list {
		var sum *results.Summary
		if store != nil {
			if h, warnings, err := store.History(s.Metadata.Name, resultstore.HistoryOptions{}); err == nil {
				for _, w := range warnings {
					a.say().warnf("%s", w.Error())
				}
				v := h.Summarize(time.Now(), a.summaryOptions(s.Spec.Freshness.D()))
				sum = &v
			}
		}
		rbs[i] = runbook.Build(s, cycles, sum)
	}
	if format == "markdown" {
		return runbook.Markdown(a.streams.Out, rbs)
	}
	return runbook.HTML(a.streams.Out, rbs, Version)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
