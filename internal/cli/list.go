package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/results"
)

func newListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list [PATH...]",
		Short: "The scenarios found (default: the current folder), with owner, last result and freshness",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			list, err := loadAll(args)
			if len(list) == 0 && err != nil {
				return err
			}
			store := results.Open(a.results)
			now := time.Now()
			tw := tabwriter.NewWriter(a.streams.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tOWNER\tFILE\tTARGET\tCYCLES\tLAST RESULT\tFRESHNESS")
			for _, s := range list {
				last, fresh := "never run", "stale (never passed)"
				runs, warnings, rerr := store.Runs(s.Metadata.Name)
				for _, w := range warnings {
					fmt.Fprintf(a.streams.Err, "drill: warning: %s\n", w.Error())
				}
				if rerr == nil && len(runs) > 0 {
					sum := results.Summarize(runs, now, results.SummaryOptions{DefaultFreshness: s.Spec.Freshness.D()})
					newest := runs[len(runs)-1]
					switch {
					case newest.Status == results.StatusRunning && !processAlive(newest):
						last = fmt.Sprintf("aborted %s (run `drill gc`)", ago(newest.StartedAt))
					case newest.Status == results.StatusRunning:
						last = "running since " + ago(newest.StartedAt)
					case sum.Newest != nil:
						last = fmt.Sprintf("%s, guideline %s, %s", sum.Newest.Status, holdsWord(sum.Newest.Holds), ago(sum.Newest.StartedAt))
					}
					if sum.RegularlyChecked {
						fresh = fmt.Sprintf("fresh (passed %s, within %s)", ago(*sum.LastSuccess), s.Spec.Freshness.D())
					} else if sum.LastSuccess != nil {
						fresh = fmt.Sprintf("stale (passed %s, expected every %s)", ago(*sum.LastSuccess), s.Spec.Freshness.D())
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Metadata.Name, orDash(s.Metadata.Owner), s.File, targetKind(s.Spec.Target.Terraform != nil, s.Spec.Target.Kind != nil), s.Spec.Cycles, last, fresh)
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

func targetKind(tf, kind bool) string {
	switch {
	case tf:
		return "terraform"
	case kind:
		return "kind"
	}
	return "none"
}
