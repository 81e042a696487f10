// Package runner sequences a drill: cycles, phases, timeouts, retries,
// teardown that always runs, cancellation, and the recording of every step
// into the results store. It knows nothing about Terraform or kind: it works
// on the drills.Step and drills.Target interfaces, so its tests run on fakes.
package runner

import (
	"context"
	"time"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// Plan is a scenario made runnable: every action already mapped to a
// drills.Step, every timeout resolved. internal/plan builds it.
type Plan struct {
	Scenario  results.ScenarioRef
	Cycles    int
	Budget    time.Duration // zero: no budget
	Freshness time.Duration
	// Source is the absolute folder copied into each cycle's fresh workdir.
	Source string
	// Git, when set, is the repository each cycle clones instead (Source
	// is then "").
	Git *GitSource
	// Env is the base environment of every step (spec.env, passEnv, PATH,
	// HOME, TMPDIR, LANG and the secrets by name). The runner adds DRILL_*.
	Env map[string]string
	// Secrets are the values to redact everywhere.
	Secrets  []string
	Target   TargetPlan
	Steps    []Step // deploy and verify, in order
	Teardown []Step
	// DefaultTimeout is the scenario's step timeout as the loader
	// resolved it (spec.defaults.timeout, else scenarios.DefaultTimeout):
	// it bounds the workdir step, the idempotency check and each cleanup a
	// step deferred to the end of its cycle (drills.Cleanup) that sets no
	// timeout of its own. Zero: no bound (a cleanup then gets the target's
	// timeout).
	DefaultTimeout time.Duration
	// Notify are the scenario's own webhooks (spec.notify), expanded. The
	// runner does not call them: its Announcer does.
	Notify []NotifyHook
}

// NotifyHook is one webhook of spec.notify.
type NotifyHook struct {
	URL, Secret, Format string
}

// GitSource is a repository each cycle clones into its fresh workdir.
type GitSource struct {
	// Record is what the DrillRun says of the source (git, the URL fit to
	// print, ref, path); the runner adds the commit the first cycle
	// checked out.
	Record results.Source
	// Clone clones into root, the cycle's empty folder, and checks out
	// commit ("" in the first cycle: the ref's; then the first cycle's). It
	// returns the commit and the workdir the steps run in (root, or the
	// folder spec.source.path names inside it).
	Clone func(ctx context.Context, env *drills.Env, root, commit string) (checkedOut, workdir string, err error)
}

// TargetPlan says how to build a cycle's target.
type TargetPlan struct {
	Kind string // "terraform", "kind" or "none"
	// New builds the target for one cycle; env.Workdir is the cycle's copy.
	New func(env *drills.Env) (drills.Target, error)
	// Timeout bounds provision and, separately, destroy.
	Timeout time.Duration
	// Idempotent enables the idempotency guideline check where the target supports it.
	Idempotent bool
	// Ledger describes how to remove the cycle's target after a crash; it is
	// recorded in the run's ledger before Provision. Optional.
	Ledger func(env *drills.Env, t drills.Target) *resultstore.LedgerEntry
}

// Step is one scenario step with everything the runner attaches to it.
type Step struct {
	Name       string
	Kind       string // run, http, apply, wait, helm, loadImages, manual
	Phase      string // deploy, verify, teardown
	Owner      string
	Timeout    time.Duration
	Retries    int
	RetryDelay time.Duration
	// Manual holds the operator's instructions; empty for an automated step.
	Manual string
	// Action is nil for a manual step that is only a human's task.
	Action drills.Step
	// IdempotencyOff turns off the step's own idempotency check (its
	// Action's CheckIdempotent): `idempotent: false` on the step.
	IdempotencyOff bool
}

// ScratchScoper is a target whose from-scratch check covers less than all
// of what its steps can touch, and says what it covers, so that the
// guideline verdict does not claim more than was checked (an existing
// cluster: the cycle's namespace, not the cluster-scoped objects that
// outlive cycles).
type ScratchScoper interface {
	ScratchScope() string
}

// Prompter asks an operator to perform a manual step and confirm it. A nil
// Prompter means nobody is there: manual steps fail.
type Prompter interface {
	Confirm(ctx context.Context, step, instructions string) error
}

// EventKind says what happened.
type EventKind int

const (
	RunStarted EventKind = iota
	CycleStarted
	StepStarted
	StepFinished
	CycleFinished
	RunFinished
	// Notice carries a message for the operator (Event.Message).
	Notice
	// StepRetrying: an attempt of Event.Step failed and another follows;
	// Event.Message is the attempt's redacted error, Event.Attempt its number.
	StepRetrying
)

// Event is sent to the Observer as the run progresses. Run, Cycle and Step
// point into the live document: read them, never keep or change them.
type Event struct {
	Kind    EventKind
	Run     *results.Run
	Cycle   *results.Cycle
	Step    *results.Step
	Message string
	// Attempt is the number of the attempt that failed (StepRetrying).
	Attempt int
}

// Observer receives progress events (the CLI's live display). It is called
// synchronously from the runner's goroutine and must not block for long.
type Observer func(Event)

// Tracer follows runs as traces (internal/tracing builds the OpenTelemetry
// one). StartTrace is called once per run, before RunStarted, with the run's
// redactor: whatever the trace records of the run goes through it.
type Tracer interface {
	StartTrace(redact func(string) string) Trace
}

// Trace is one run's trace. Observe sees every event of the run, as the
// Observer does (synchronously, from the runner's goroutine), and after
// StepStarted, Traceparent names the step's span in the W3C form, which the
// step's processes get as TRACEPARENT so the tools they run can join the
// trace. Observe(RunFinished) ends the trace.
type Trace interface {
	Observe(Event)
	Traceparent() string
}

// Announcer tells others how a finished run left its scenario
// (internal/notify's webhooks). It is called once per run, when the run's
// verdict is known and before its final document is written; what it
// returns are warnings of the run (a notification that was not delivered
// never fails a drill).
type Announcer func(ctx context.Context, doc *results.Run) (warnings []string)
