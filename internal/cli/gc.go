package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/internal/janitor"
)

func newGCCommand(a *app) *cobra.Command {
	var (
		dryRun bool
		output string
	)
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Find and remove what dead runs left behind (processes, kind clusters, Terraform state, workdirs)",
		Long: `gc reads the ledger of every run in the results folder whose drill is no longer alive
(killed with -9, machine rebooted, teardown failed) and removes what it recorded and never
released: processes carrying the run's DRILL_RUN_ID, kind clusters, Terraform targets
(terraform destroy with the saved state) and cycle workdirs. Runs left "running" are then
marked canceled with reason Aborted. Exit 0 when nothing is left, 4 when something could not
be removed.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return exitf(ExitUsage, "--output: %q is not text or json", output)
			}
			log, err := newLogger(a.streams.Err, a.logFormat, a.verbose)
			if err != nil {
				return err
			}
			j := &janitor.Janitor{Store: openStore(a), Logger: log, DryRun: dryRun}
			rep, err := j.Collect(cmd.Context())
			if err != nil {
				return exitf(ExitEnvironment, "gc in %s: %w", a.results, err)
			}
			for _, w := range rep.Warnings {
				fmt.Fprintf(a.streams.Err, "drill: warning: %s\n", w)
			}
			if output == "json" {
				enc := json.NewEncoder(a.streams.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printGC(a, rep, dryRun)
			}
			if !dryRun && rep.Left() {
				return &ExitError{Code: ExitTeardown}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed, touch nothing")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text|json")
	return cmd
}

func printGC(a *app, rep *janitor.Report, dryRun bool) {
	w := a.streams.Out
	if len(rep.Items) == 0 && len(rep.Aborted) == 0 {
		fmt.Fprintln(w, "nothing left behind")
		return
	}
	for _, it := range rep.Items {
		switch {
		case dryRun:
			fmt.Fprintf(w, "would remove  %s/%s  %s\n", it.Scenario, it.RunID, it.What)
		case it.Removed:
			fmt.Fprintf(w, "removed       %s/%s  %s\n", it.Scenario, it.RunID, it.What)
		default:
			fmt.Fprintf(w, "FAILED        %s/%s  %s: %s\n", it.Scenario, it.RunID, it.What, it.Error)
		}
	}
	for _, r := range rep.Aborted {
		if dryRun {
			fmt.Fprintf(w, "would mark    %s canceled (Aborted)\n", r)
		} else {
			fmt.Fprintf(w, "marked        %s canceled (Aborted)\n", r)
		}
	}
}
