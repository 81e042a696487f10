package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/none"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
)

// BenchmarkRunTrueSteps measures the runner's own cost per step: one cycle
// of 200 steps that do nothing, against a real store (the running document
// rewritten in the background, every step opening its log file). It is the
// part of
// scripts/bench.sh's per-step figures that is not bash starting up.
func BenchmarkRunTrueSteps(b *testing.B) {
	const steps = 200
	source := b.TempDir()
	if err := os.WriteFile(filepath.Join(source, "app.txt"), []byte("hello\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	plan := &runner.Plan{
		Scenario: results.ScenarioRef{Name: "bench", File: "bench.yaml", SHA256: "abc"},
		Cycles:   1,
		Source:   source,
		Env:      map[string]string{"PATH": os.Getenv("PATH")},
		Target: runner.TargetPlan{Kind: "none", Timeout: time.Minute,
			New: func(*drills.Env) (drills.Target, error) { return none.Target{}, nil }},
	}
	noop := drills.StepFunc(func(context.Context, *drills.Env) error { return nil })
	for i := range steps {
		plan.Steps = append(plan.Steps, runner.Step{
			Name: fmt.Sprintf("step-%03d", i), Kind: "run", Phase: results.PhaseDeploy,
			Timeout: time.Minute, Action: noop,
		})
	}
	r := runner.New(resultstore.Open(b.TempDir()), runner.WithTempDir(b.TempDir()))

	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		doc, err := r.Run(b.Context(), plan)
		if err != nil {
			b.Fatal(err)
		}
		if doc.Status != results.StatusPassed {
			b.Fatalf("run %s, want passed: %+v", doc.Status, doc.Error)
		}
	}
	runtime.ReadMemStats(&after)
	n := float64(b.N * steps)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/step")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/step")
}
