package report

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// benchStore generates runs run documents over 5 scenarios (plain writes,
// then Store.RebuildIndex builds index.json and history.jsonl from them).
// scripts/bench-history.sh measures the full 100,000 through the drill
// binary; this keeps `go test -bench` under a minute.
func benchStore(b *testing.B, runs int) *resultstore.Store {
	b.Helper()
	s := resultstore.Open(b.TempDir())
	var scs []histgen.Scenario
	for i := range 5 {
		scs = append(scs, histgen.Scenario{
			Name: fmt.Sprintf("scenario-%d", i), Owner: "platform", Runs: runs / 5, Every: 10 * time.Minute,
			Newest: testNow, Freshness: 24 * time.Hour, Budget: 5 * time.Minute,
			Outcome: func(k int) histgen.Outcome {
				if k%13 == 0 {
					return histgen.Outcome{Status: results.StatusFailed, DurationMs: 20_000}
				}
				return histgen.Outcome{Status: results.StatusPassed, Holds: true, DurationMs: int64(50_000 + k%997*10)}
			},
		})
	}
	if err := histgen.Generate(s, scs, histgen.Options{Fast: true}); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkLoadAndRenderHTML is drill report --format html over 10,000 runs.
func BenchmarkLoadAndRenderHTML(b *testing.B) {
	s := benchStore(b, 10_000)
	for b.Loop() {
		h, _, err := Load(s, testNow)
		if err != nil {
			b.Fatal(err)
		}
		if err := Write(io.Discard, HTML, h, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatus is what drill status does over 10,000 runs: the
// histories and their summaries.
func BenchmarkStatus(b *testing.B) {
	s := benchStore(b, 10_000)
	for b.Loop() {
		hs, _, err := s.Histories(resultstore.HistoryOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range hs {
			_ = h.Summarize(testNow, results.SummaryOptions{})
		}
	}
}
