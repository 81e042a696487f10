// Command benchhistory generates a large results history and times the
// reads drill status and drill report make over it. scripts/bench-history.sh
// drives it; it is a development tool, not part of drill.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/report"
	"github.com/redeploy-drill/drill/results"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchhistory gen|status|report -dir DIR [-runs N -scenarios N -format F]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", "", "results folder")
	runs := fs.Int("runs", 100_000, "run documents in total")
	scenarios := fs.Int("scenarios", 10, "scenarios sharing them")
	format := fs.String("format", "html", "report format")
	_ = fs.Parse(os.Args[2:])
	store := resultstore.Open(*dir)
	start := time.Now()
	switch os.Args[1] {
	case "gen":
		now := time.Now().UTC()
		var scs []histgen.Scenario
		for i := range *scenarios {
			scs = append(scs, histgen.Scenario{
				Name: fmt.Sprintf("scenario-%02d", i), Owner: fmt.Sprintf("team-%d", i%3),
				Runs: *runs / *scenarios, Every: 10 * time.Minute, Newest: now.Add(-time.Duration(i) * time.Minute),
				Freshness: 24 * time.Hour, Budget: 5 * time.Minute,
				Outcome: func(k int) histgen.Outcome {
					o := histgen.Outcome{Status: results.StatusPassed, Holds: true, DurationMs: int64(50_000 + (k*7919)%20_000)}
					switch {
					case k%17 == 0:
						o = histgen.Outcome{Status: results.StatusFailed, DurationMs: 20_000, Message: "connection refused"}
					case k%11 == 0:
						o.Flaky, o.Holds = true, false
					}
					return o
				},
			})
		}
		if err := histgen.Generate(store, scs, histgen.Options{Fast: true, Logs: 10}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "status":
		hs, warns, err := store.Histories(resultstore.HistoryOptions{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, h := range hs {
			s := h.Summarize(time.Now(), results.SummaryOptions{})
			fmt.Printf("%s runs=%d pass=%.2f flaky=%.2f median=%d regularly-checked=%t\n", s.Scenario, s.Runs, s.PassRate, s.FlakyRate, s.MedianMs, s.RegularlyChecked)
		}
		fmt.Fprintf(os.Stderr, "%d warnings\n", len(warns))
	case "report":
		h, warns, err := report.Load(store, time.Now())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		f, err := report.ParseFormat(*format)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		w := bufio.NewWriter(os.Stdout)
		if err := report.Write(w, f, h, report.Options{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		w.Flush()
		fmt.Fprintf(os.Stderr, "%d warnings\n", len(warns))
	default:
		fmt.Fprintln(os.Stderr, "usage: benchhistory gen|status|report -dir DIR")
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "%s took %s\n", os.Args[1], time.Since(start).Round(time.Millisecond))
}
