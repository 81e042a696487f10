package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/scenarios"
)

func newListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list [PATH...]",
		Short: "The scenarios found (default: the current folder), with owner, last result and freshness",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			list, err := loadAll(a, args)
			if len(list) == 0 && err != nil {
				return err
			}
			store, oerr := a.openResults(cmd.Context(), true)
			if oerr != nil {
				return oerr
			}
			now := time.Now()
			tw := tabwriter.NewWriter(a.streams.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tOWNER\tFILE\tTARGET\tCYCLES\tLAST RESULT\tFRESHNESS")
			for _, s := range list {
				last, fresh := "never run", "stale (never passed)"
				// The history index answers without reading every document.
				h, warnings, rerr := store.History(s.Metadata.Name, resultstore.HistoryOptions{Detail: 1})
				for _, w := range warnings {
					a.say().warnf("%s", w.Error())
				}
				if rerr == nil && (len(h.Entries) > 0 || len(h.Running) > 0) {
					// The scenario file's freshness, and the verdict drill status gives.
					sum := h.Summarize(now, a.summaryOptions(s.Spec.Freshness.D()))
					running := newestRunning(h)
					switch {
					case sum.Verdict() == results.VerdictAborted && running != nil:
						last = fmt.Sprintf("aborted %s (run `drill gc`)", ago(running.StartedAt))
					case running != nil:
						last = "running since " + ago(running.StartedAt)
					case sum.Newest != nil:
						last = fmt.Sprintf("%s, guideline %s, %s", sum.Newest.Status, holdsWord(sum.Newest.Holds), ago(sum.Newest.StartedAt))
					}
					if sum.RegularlyChecked {
						fresh = fmt.Sprintf("fresh (passed %s, within %s)", ago(*sum.LastSuccess), s.Spec.Freshness.D())
					} else if sum.LastSuccess != nil {
						fresh = fmt.Sprintf("stale (passed %s, expected every %s)", ago(*sum.LastSuccess), s.Spec.Freshness.D())
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Metadata.Name, orDash(s.Metadata.Owner), s.File, targetKind(s.Spec.Target), s.Spec.Cycles, last, fresh)
			}
			tw.Flush()
			return err
		},
	}
}

func holdsWord(h bool) string {
	if h {
		return "holds"
	}
	return "does not hold"
}

func targetKind(t scenarios.Target) string {
	switch {
	case t.Terraform != nil:
		return "terraform"
	case t.Kind != nil:
		return "kind"
	case t.Compose != nil:
		return "compose"
	case t.Cluster != nil:
		return "cluster"
	}
	return "none"
}
