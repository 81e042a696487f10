package runner_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
)

// fakeTarget is a drills.Target with every optional capability of a target.
// A nil function field does nothing and finds nothing wrong. It records the
// calls it gets, in order, so tests can assert what ran.
type fakeTarget struct {
	mu    sync.Mutex
	calls []string

	provision   func(ctx context.Context, env *drills.Env) error
	destroy     func(ctx context.Context, env *drills.Env) error
	idempotent  func(ctx context.Context, env *drills.Env) error
	outputs     map[string]string
	sensitive   []string
	preexisting []string
	leftovers   []string
}

var (
	_ drills.Target             = (*fakeTarget)(nil)
	_ drills.Outputter          = (*fakeTarget)(nil)
	_ drills.Sensitive          = (*fakeTarget)(nil)
	_ drills.IdempotencyChecker = (*fakeTarget)(nil)
	_ drills.LeftoverChecker    = (*fakeTarget)(nil)
	_ drills.ScratchChecker     = (*fakeTarget)(nil)
)

func (f *fakeTarget) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeTarget) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeTarget) Name() string { return "fake" }

func (f *fakeTarget) Provision(ctx context.Context, env *drills.Env) error {
	f.record("provision")
	if f.provision != nil {
		return f.provision(ctx, env)
	}
	return nil
}

func (f *fakeTarget) Destroy(ctx context.Context, env *drills.Env) error {
	f.record("destroy")
	if f.destroy != nil {
		return f.destroy(ctx, env)
	}
	return nil
}

func (f *fakeTarget) Outputs(context.Context, *drills.Env) (map[string]string, error) {
	f.record("outputs")
	return f.outputs, nil
}

func (f *fakeTarget) SensitiveOutputs() []string { return f.sensitive }

func (f *fakeTarget) CheckIdempotent(ctx context.Context, env *drills.Env) error {
	f.record("idempotent")
	if f.idempotent != nil {
		return f.idempotent(ctx, env)
	}
	return nil
}

func (f *fakeTarget) Leftovers(context.Context, *drills.Env) ([]string, error) {
	f.record("leftovers")
	return f.leftovers, nil
}

func (f *fakeTarget) Preexisting(context.Context, *drills.Env) ([]string, error) {
	f.record("preexisting")
	return f.preexisting, nil
}

// fakePrompter confirms a manual step by calling confirm.
type fakePrompter struct {
	confirm func(ctx context.Context, step, instructions string) error
}

func (p fakePrompter) Confirm(ctx context.Context, step, instructions string) error {
	return p.confirm(ctx, step, instructions)
}

// idemStep is a deploy step that can check its own idempotency, like an apply.
type idemStep struct {
	run   func(ctx context.Context, env *drills.Env) error
	check func(ctx context.Context, env *drills.Env) error
}

func (s idemStep) Run(ctx context.Context, env *drills.Env) error { return s.run(ctx, env) }
func (s idemStep) CheckIdempotent(ctx context.Context, env *drills.Env) error {
	return s.check(ctx, env)
}

// harness is one runner, its store, source folder and fake target, on
// temporary folders of the test.
type harness struct {
	t      *testing.T
	store  *resultstore.Store
	source string
	target *fakeTarget
	// opts configure the runner that run builds.
	opts []runner.Option
	plan *runner.Plan
}

// newHarness returns a runner over a 2-cycle plan with no steps yet; the
// source holds app.txt and is not in git.
func newHarness(t *testing.T) *harness {
	t.Helper()
	source := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(source, "app.txt"), []byte("hello\n"), 0o644))
	h := &harness{t: t, store: resultstore.Open(t.TempDir()), source: source, target: &fakeTarget{}}
	h.opts = []runner.Option{runner.WithTempDir(t.TempDir())}
	h.plan = &runner.Plan{
		Scenario: results.ScenarioRef{Name: "demo", File: "demo.yaml", Owner: "platform", SHA256: "abc"},
		Cycles:   2,
		Source:   source,
		Env:      map[string]string{"PATH": os.Getenv("PATH"), "APP_PORT": "18080"},
		Target: runner.TargetPlan{
			Kind: "fake", Timeout: 10 * time.Minute, Idempotent: true,
			New: func(*drills.Env) (drills.Target, error) { return h.target, nil },
		},
	}
	return h
}

// with adds options to the runner that run builds.
func (h *harness) with(opts ...runner.Option) { h.opts = append(h.opts, opts...) }

// run executes the plan under ctx and returns the returned document.
func (h *harness) run(ctx context.Context) *results.Run {
	h.t.Helper()
	doc, err := runner.New(h.store, h.opts...).Run(ctx, h.plan)
	require.NoError(h.t, err)
	require.NotNil(h.t, doc)
	return doc
}

// onDisk reads the stored document of doc.
func (h *harness) onDisk(doc *results.Run) *results.Run {
	h.t.Helper()
	got, err := results.ReadRun(h.store.RunPath(doc.Scenario.Name, doc.RunID))
	require.NoError(h.t, err)
	return got
}

// step builds a runner step around fn.
func step(name, phase string, timeout time.Duration, fn func(ctx context.Context, env *drills.Env) error) runner.Step {
	return runner.Step{Name: name, Kind: "fake", Phase: phase, Timeout: timeout, Action: drills.StepFunc(fn)}
}

// sleeper is a step function that takes d of (fake) time and passes.
func sleeper(d time.Duration) func(context.Context, *drills.Env) error {
	return func(context.Context, *drills.Env) error {
		time.Sleep(d)
		return nil
	}
}

// blocker waits for its context to end and returns its error, like a step
// that hangs until stopped.
func blocker(ctx context.Context, _ *drills.Env) error {
	<-ctx.Done()
	return ctx.Err()
}

func names(c results.Cycle) []string {
	out := make([]string, len(c.Steps))
	for i, s := range c.Steps {
		out[i] = s.Name
	}
	return out
}

func statuses(c results.Cycle) []results.Status {
	out := make([]results.Status, len(c.Steps))
	for i, s := range c.Steps {
		out[i] = s.Status
	}
	return out
}

func stepPhases(c results.Cycle) []string {
	out := make([]string, len(c.Steps))
	for i, s := range c.Steps {
		out[i] = s.Phase
	}
	return out
}

func durations(c results.Cycle) []int64 {
	out := make([]int64, len(c.Steps))
	for i, s := range c.Steps {
		out[i] = s.DurationMs
	}
	return out
}

// stepNamed returns the step of c called name.
func stepNamed(t *testing.T, c results.Cycle, name string) results.Step {
	t.Helper()
	for _, s := range c.Steps {
		if s.Name == name {
			return s
		}
	}
	require.Failf(t, "no such step", "cycle %d has no step %q (has %v)", c.Index, name, names(c))
	return results.Step{}
}

// checks returns the guideline checks of doc by name.
func checks(t *testing.T, doc *results.Run) map[string]results.Check {
	t.Helper()
	require.NotNil(t, doc.Guideline)
	out := map[string]results.Check{}
	for _, c := range doc.Guideline.Checks {
		out[c.Name] = c
	}
	return out
}

// checkOK returns name → ok of every check.
func checkOK(t *testing.T, doc *results.Run) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for name, c := range checks(t, doc) {
		out[name] = c.OK
	}
	return out
}

// allChecksOK is every guideline check ok, to be amended per test.
func allChecksOK() map[string]bool {
	return map[string]bool{
		runner.CheckAutomated: true, runner.CheckFromScratch: true, runner.CheckRepeatable: true,
		runner.CheckIdempotent: true, runner.CheckCleanTeardown: true, runner.CheckWithinBudget: true,
		runner.CheckNotFlaky: true, runner.CheckVersionControlled: true,
	}
}

// filesContaining lists the files under dir whose content contains s.
func filesContaining(t *testing.T, dir, s string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), s) {
			found = append(found, path)
		}
		return nil
	})
	require.NoError(t, err)
	return found
}
