package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/internal/janitor"
	"github.com/redeploy-drill/drill/internal/resultstore"
)

func newGCCommand(a *app) *cobra.Command {
	var (
		dryRun bool
		output string
		forget []string
	)
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Find and remove what dead runs left behind (processes, Helm releases, kind clusters, Terraform state, workdirs)",
		Long: `gc reads the ledger of every run in the results folder whose drill is no longer alive
(killed with -9, machine rebooted, teardown failed) and removes what it recorded and never
released: processes carrying the run's DRILL_RUN_ID, Helm releases (uninstalled with
foreground deletion and checked gone, before their cluster), kind clusters, Terraform targets
(terraform destroy with the saved state, the same variables, var files and environment as the
run: passed variables and secrets are read again from gc's own environment) and cycle
workdirs. An item is reported removed only once it is gone and checked gone; anything else
stays in the ledger for the next gc. Runs left "running" are then marked canceled with reason
Aborted. Only one gc works on a results folder at a time; a second one waits for it.

--forget SCENARIO/RUN-ID releases a run's ledger entries without removing anything, once you
have removed (or found gone) by hand what they stand for, such as the resources of a
Terraform state that was lost.

Exit 0 when nothing is left, 4 when something could not be removed (the message says what
and why), 130/143 when interrupted (the current destroy is interrupted cleanly and its entry
stays for the next gc).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return exitf(ExitUsage, "--output: %q is not text or json", output)
			}
			log, err := newLogger(a.streams.Err, a.logFormat, a.verbose)
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			// A gc that removes things reads the bucket once it holds the
			// gc lock: what another gc did meanwhile is then seen.
			store, err := a.openResults(cmd.Context(), dryRun || len(forget) > 0)
			if err != nil {
				return err
			}
			j := &janitor.Janitor{Store: store, Logger: log, DryRun: dryRun, Redactor: a.redactor}
			if len(forget) > 0 {
				return a.forget(j, forget)
			}

			ctx, sigs := withSignals(cmd.Context(), a.say())
			defer sigs.stop()
			sigs.setOnThird(func() string { return "what the interrupted gc was removing stays in its run's ledger" })
			if !dryRun {
				release, err := store.LockGC(ctx, false)
				var busy *resultstore.BusyError
				if errors.As(err, &busy) {
					a.say().infof("%s; waiting for it", busy)
					release, err = store.LockGC(ctx, true)
				}
				if err != nil {
					if sig := sigs.received(); sig != nil {
						return &ExitError{Code: signalCode(sig)}
					}
					return exitf(ExitEnvironment, "gc in %s: %w", a.results, err)
				}
				defer release()
				if err := a.pullResults(ctx); err != nil {
					return err
				}
			}
			rep, err := j.Collect(ctx)
			if err != nil {
				return exitf(ExitEnvironment, "gc in %s: %w", a.results, err)
			}
			for _, w := range rep.Warnings {
				a.say().warnf("%s", w)
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
			switch {
			case sigs.received() != nil:
				a.say().infof("gc interrupted; what it did not remove stays in the ledger for the next `drill gc`")
				return &ExitError{Code: signalCode(sigs.received())}
			case !dryRun && rep.Left():
				return &ExitError{Code: ExitTeardown}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed, touch nothing")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text|json")
	cmd.Flags().StringArrayVar(&forget, "forget", nil, "release SCENARIO/RUN-ID's ledger entries without removing anything (after cleaning up by hand); repeatable")
	return cmd
}

// forget releases the ledger entries of the runs named SCENARIO/RUN-ID.
func (a *app) forget(j *janitor.Janitor, runs []string) error {
	for _, arg := range runs {
		scenario, id, ok := strings.Cut(arg, "/")
		if !ok || scenario == "" || id == "" {
			return exitf(ExitUsage, "--forget %q: want SCENARIO/RUN-ID", arg)
		}
		entries, err := j.Forget(scenario, id)
		if err != nil {
			return exitf(ExitUsage, "--forget: %w", err)
		}
		if len(entries) == 0 {
			fmt.Fprintf(a.streams.Out, "nothing outstanding in %s\n", arg)
		}
		for _, e := range entries {
			fmt.Fprintf(a.streams.Out, "forgotten     %s  %s\n", arg, e.Describe())
		}
	}
	return nil
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
			fmt.Fprintf(w, "LEFT          %s/%s  %s: %s\n", it.Scenario, it.RunID, it.What, it.Error)
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
