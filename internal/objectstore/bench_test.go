package objectstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// BenchmarkPull measures what a reader (drill status, report, serve, gc)
// costs against a real S3 server holding `scenarios` scenarios of
// runsPerScenario finished runs each: the requests of one pull (lists/op,
// gets/op) and its time, from a cold mirror (a fresh pod: everything is
// downloaded once) and a warm one (a dashboard's refresh: listings only).
// The README's cost table comes from these figures.
//
//	go test -run '^$' -bench BenchmarkPull -benchtime 3x ./internal/objectstore
func BenchmarkPull(b *testing.B) {
	const runsPerScenario = 3
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("scenarios=%d", n), func(b *testing.B) {
			srv := testtools.NeedS3(b)
			srv.SetEnv(b)
			url := srv.URL("bench")
			w, err := Open(context.Background(), url, Options{CacheDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			now := time.Now().UTC()
			scs := make([]histgen.Scenario, n)
			for i := range scs {
				scs[i] = histgen.Scenario{Name: fmt.Sprintf("stack-%04d", i), Runs: runsPerScenario, Every: 24 * time.Hour, Newest: now}
			}
			if err := histgen.Generate(resultstore.Open(w.Dir()).WithRemote(w), scs, histgen.Options{}); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if left, err := w.Flush(ctx); err != nil || left > 0 {
				b.Fatalf("upload the history: %d left: %v", left, err)
			}

			b.Run("cold", func(b *testing.B) {
				var st Stats
				for b.Loop() {
					b.StopTimer()
					r, err := Open(context.Background(), url, Options{CacheDir: b.TempDir()})
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					st, _, err = r.Pull(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					_ = r.Close()
					b.StartTimer()
				}
				report(b, st)
			})
			b.Run("warm", func(b *testing.B) {
				r, err := Open(context.Background(), url, Options{CacheDir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				if _, _, err := r.Pull(context.Background()); err != nil {
					b.Fatal(err)
				}
				var st Stats
				for b.Loop() {
					if st, _, err = r.Pull(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
				report(b, st)
			})
		})
	}
}

func report(b *testing.B, st Stats) {
	b.ReportMetric(float64(st.Lists), "lists/op")
	b.ReportMetric(float64(st.Gets), "gets/op")
}
