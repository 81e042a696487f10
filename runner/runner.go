package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
	// Only for the names of the variables drill sets (scenarios imports
	// nothing of drill's): one list, shared with validation.
	"github.com/redeploy-drill/drill/scenarios"
)

// DefaultTeardownTimeout bounds the teardown of one cycle after an interrupt
// when the scenario's own timeouts are longer: an operator who pressed Ctrl-C
// waits this long at most for cleanup, per step.
const DefaultTeardownTimeout = 10 * time.Minute

// Runner executes plans. Build it with New; it holds only its
// configuration, so one Runner may run any number of plans, one after the
// other or at once.
type Runner struct {
	store    *resultstore.Store
	logger   *zap.Logger
	observer Observer
	tracer   Tracer
	announce Announcer
	prompter Prompter
	// keepOnFailure skips teardown and destroy of a cycle whose step
	// failed, so an SRE can debug the environment; the run says how to
	// clean up.
	keepOnFailure bool
	trigger       string
	tools         map[string]string
	// tempDir is where cycle workdirs are made (default os.TempDir()).
	tempDir string
	// teardownTimeout caps each teardown step and the destroy after a
	// cancel (DefaultTeardownTimeout when zero).
	teardownTimeout time.Duration
	// cycles replaces plan.Cycles when > 0 (drill run --cycles).
	cycles int
	// lock takes the scenario's run lock, so one scenario runs once at a
	// time; a busy scenario makes Run return a *resultstore.BusyError, unless
	// waitLock, which waits for the other run to end.
	lock     bool
	waitLock bool
	// redactor is the redactor of the whole invocation (see WithRedactor);
	// nil: each run has a redactor of its own.
	redactor *drills.Redactor
}

// Option configures a Runner.
type Option func(*Runner)

// New returns a Runner that records its runs in store.
func New(store *resultstore.Store, opts ...Option) *Runner {
	r := &Runner{store: store, logger: zap.NewNop()}
	for _, o := range opts {
		o(r)
	}
	if r.logger == nil {
		r.logger = zap.NewNop()
	}
	return r
}

// WithLogger sets the logger of drill's own diagnostics.
func WithLogger(l *zap.Logger) Option { return func(r *Runner) { r.logger = l } }

// WithObserver sets what receives the run's events (the live progress).
func WithObserver(o Observer) Option { return func(r *Runner) { r.observer = o } }

// WithTracer makes each run export a trace (nil: none).
func WithTracer(t Tracer) Option { return func(r *Runner) { r.tracer = t } }

// WithAnnouncer sets who is told how each finished run left its scenario
// (the webhooks of --notify).
func WithAnnouncer(a Announcer) Option { return func(r *Runner) { r.announce = a } }

// WithPrompter sets who confirms manual steps; without one, they fail.
func WithPrompter(p Prompter) Option { return func(r *Runner) { r.prompter = p } }

// WithKeepOnFailure keeps a failed cycle's environment for debugging
// (--keep-on-failure): its teardown and destroy are skipped, no further
// cycle runs, and the run says how to clean up.
func WithKeepOnFailure(keep bool) Option { return func(r *Runner) { r.keepOnFailure = keep } }

// WithTrigger records what started the runs: manual (the default),
// schedule or ci.
func WithTrigger(t string) Option { return func(r *Runner) { r.trigger = t } }

// WithTools records the versions of the tools drill found in every run.
func WithTools(tools map[string]string) Option { return func(r *Runner) { r.tools = tools } }

// WithTempDir sets where cycle workdirs are made (default os.TempDir()).
func WithTempDir(dir string) Option { return func(r *Runner) { r.tempDir = dir } }

// WithTeardownTimeout caps each teardown step and the destroy after an
// interrupt (DefaultTeardownTimeout when zero or less).
func WithTeardownTimeout(d time.Duration) Option { return func(r *Runner) { r.teardownTimeout = d } }

// WithCycles replaces the plan's cycles when n > 0 (drill run --cycles).
func WithCycles(n int) Option { return func(r *Runner) { r.cycles = n } }

// WithLock takes the scenario's run lock for each run, so a scenario runs
// once at a time: a busy scenario makes Run return a *resultstore.BusyError,
// or, with wait, waits for the other run to end.
func WithLock(wait bool) Option {
	return func(r *Runner) { r.lock, r.waitLock = true, wait }
}

// WithRedactor sets the redactor of the whole invocation, which drill's
// stdout and stderr go through: each run adds its secrets (and the
// sensitive outputs it learns) to it, so they are masked wherever drill
// prints.
func WithRedactor(red *drills.Redactor) Option { return func(r *Runner) { r.redactor = red } }

// run holds the state of one drill while it executes.
type run struct {
	r    *Runner
	plan *Plan
	// rec is where the run's evidence goes, files where its files are.
	rec      Recorder
	files    resultstore.RunFiles
	doc      *results.Run
	redactor *drills.Redactor
	// trace is the run's trace, nil when the runner has no Tracer.
	trace Trace
	log   *zap.Logger
	// ctx is the caller's context: when it ends the run is canceled.
	ctx context.Context
	// started carries the monotonic clock reading of the start, which
	// doc.StartedAt (UTC) has lost.
	started time.Time
	// facts gathered for the guideline verdict.
	manualSteps   []string
	preexisting   []string
	leftovers     []string
	notIdempotent []string
	idemChecked   bool
	// idemOff names the steps whose check the scenario turned off.
	idemOff      []string
	keptWorkdirs []string
	// scratchScope is what the target's from-scratch check covers, when it
	// says so (ScratchScoper).
	scratchScope string
	// leftBehind says, per cycle, what is still there because its removal
	// failed (a destroy that did not pass keeps its state), for the run's
	// error message.
	leftBehind []string
	// resultsErr is the first failure to write the run's own evidence
	// (a full disk): drill's environment failed, not the runbook.
	resultsErr error
	resultsMu  sync.Mutex
	// stopAfterCycle is set when no further cycle may start (a cycle kept
	// by --keep-on-failure).
	stopAfterCycle bool
	ledger         *resultstore.Ledger
	// lostResults is set once the run noticed its document was removed.
	lostResults bool
	// snaps writes the running document in the background.
	snaps *snapshotter
}

// Run executes the plan and returns its finished DrillRun document, which is
// also stored. The error is non-nil only when the document could not be
// written (the drill's own failures are in the document).
func (r *Runner) Run(ctx context.Context, p *Plan) (*results.Run, error) {
	log := r.logger
	started := time.Now()
	now := started.UTC()
	doc := &results.Run{
		APIVersion:  results.APIVersion,
		Kind:        results.KindRun,
		RunID:       resultstore.NewRunID(now),
		Scenario:    p.Scenario,
		Source:      p.sourceRecord(ctx),
		Trigger:     r.trigger,
		Host:        hostInfo(),
		Tools:       r.tools,
		Status:      results.StatusRunning,
		StartedAt:   now,
		BudgetMs:    p.Budget.Milliseconds(),
		FreshnessMs: p.Freshness.Milliseconds(),
		Pid:         os.Getpid(),
		Cycles:      []results.Cycle{},
	}
	if doc.Trigger == "" {
		doc.Trigger = "manual"
	}
	x := &run{
		r: r, plan: p, doc: doc, ctx: ctx, started: started,
		redactor: r.runRedactor(p.Secrets),
		log:      log.With(zap.String("run", doc.RunID), zap.String("scenario", p.Scenario.Name)),
	}
	// Every document the run writes goes through its redactor, whatever
	// field a secret reached. Every path handed to steps and written into
	// documents derives from the recording's absolute folder: it must not
	// depend on drill's cwd.
	x.rec = r.store.Record(p.Scenario.Name, doc.RunID, x.redactor.RedactBytes)
	x.files = x.rec.Files()
	if r.lock {
		release, err := x.lock()
		if err != nil {
			return nil, err
		}
		defer release()
	}
	if err := x.rec.Save(doc, resultstore.Durable); err != nil {
		return doc, fmt.Errorf("write run document: %w", err)
	}
	x.snaps = newSnapshotter(x.saveSnapshot, x.log)
	defer x.snaps.close()
	// The ledger records what the run creates before it is created, so that
	// `drill gc` can remove it after a kill -9. Processes come first: every
	// step carries DRILL_RUN_ID, and so does whatever it starts.
	x.ledger = x.rec.Ledger()
	x.ledgerCreate(resultstore.LedgerEntry{ID: "processes", Kind: resultstore.LedgerProcesses, RunID: doc.RunID})
	if r.tracer != nil {
		x.trace = r.tracer.StartTrace(x.redactor.Redact)
	}
	x.emit(Event{Kind: RunStarted, Run: doc})

	cycles := p.Cycles
	if r.cycles > 0 {
		cycles = r.cycles
	}
	for i := 1; i <= cycles; i++ {
		if ctx.Err() != nil {
			break
		}
		x.cycle(i)
		if x.environmentMissing() || x.resultsFailed() != nil {
			// Every further cycle would fail the same way.
			break
		}
		if x.stopAfterCycle {
			x.skipCycles(i+1, cycles, "not run: cycle "+strconv.Itoa(i)+" failed and was kept for debugging (--keep-on-failure)")
			break
		}
	}
	x.finish(cycles)
	x.dropLostLogs()
	x.announce()
	if len(x.keptWorkdirs) == 0 {
		x.ledgerRelease("processes")
	}
	x.emit(Event{Kind: RunFinished, Run: doc})
	x.snaps.flush()
	if err := x.rec.Save(doc, resultstore.Final); err != nil {
		return doc, fmt.Errorf("write run document: %w", err)
	}
	return doc, nil
}

// runRedactor is the redactor of one run: the invocation's, with the run's
// secrets added, or one of its own.
func (r *Runner) runRedactor(secrets []string) *drills.Redactor {
	if r.redactor == nil {
		return drills.NewRedactor(secrets...)
	}
	r.redactor.Add(secrets...)
	return r.redactor
}

// lock takes the scenario's run lock. A busy scenario is an error, unless
// WaitLock: then drill says whom it waits for (a silent wait looks like a
// hang) and, once the lock is free, the run starts anew: its start time and
// duration, and so its budget, do not count the wait.
func (x *run) lock() (func(), error) {
	r, doc := x.r, x.doc
	release, err := x.rec.Lock(x.ctx, false)
	var busy *resultstore.BusyError
	if !errors.As(err, &busy) || !r.waitLock {
		return release, err
	}
	x.log.Info("waiting for the scenario's other run", zap.String("other", busy.RunID), zap.Int("pid", busy.Pid))
	x.emit(Event{Kind: Notice, Run: doc, Message: fmt.Sprintf("%s; waiting for it (--wait)", busy)})
	release, err = x.rec.Lock(x.ctx, true)
	if err != nil {
		return nil, err
	}
	x.started = time.Now()
	doc.StartedAt = x.started.UTC()
	return release, nil
}

// environmentMissing reports whether the newest cycle failed for want of a
// tool, a usable cluster or a reachable source, which every further cycle
// would lack too.
func (x *run) environmentMissing() bool {
	c := x.doc.Cycles[len(x.doc.Cycles)-1]
	for _, s := range c.Steps {
		if s.Error != nil && (s.Error.Reason == results.ReasonToolMissing || s.Error.Reason == results.ReasonClusterUnreachable ||
			s.Error.Reason == results.ReasonSourceUnreachable) {
			return true
		}
	}
	return false
}

func (x *run) emit(e Event) {
	if x.trace != nil {
		x.trace.Observe(e)
	}
	if x.r.observer != nil {
		x.r.observer(e)
	}
}

// save rewrites the run document so that a killed drill still leaves
// evidence. It is called before and after every step, so the write happens
// in the background and is not flushed to disk (Store.SaveRun): encoding
// the growing document and two fsyncs per call cost more than a fast step.
// What changed waits up to snapshotEvery to be written with what follows,
// except a step's start (saveNow). A failed write is logged, not fatal: the
// drill goes on and the final write reports the problem.
func (x *run) save() {
	x.snaps.put(x.doc, false)
}

// saveNow is save for a step that starts: its record is written without
// waiting out the interval, so that the document of a drill killed during
// the step names it.
func (x *run) saveNow() {
	x.snaps.put(x.doc, true)
}

// checkpoint writes the document and flushes it to disk, at the end of each
// cycle, so that even a power cut leaves the document of every finished
// cycle. It waits for the background writes first, so none overtakes it.
func (x *run) checkpoint() {
	x.snaps.flush()
	if err := x.rec.Save(x.doc, resultstore.Durable); err != nil {
		x.noteResultsError(err)
		x.log.Warn("could not save the run document", zap.Error(err))
	}
}

// cycle runs one from-scratch pass: workdir, provision, deploy, verify,
// teardown, destroy.
func (x *run) cycle(index int) {
	start := time.Now()
	x.doc.Cycles = append(x.doc.Cycles, results.Cycle{Index: index, Status: results.StatusRunning, StartedAt: start.UTC(), Steps: []results.Step{}})
	c := &x.doc.Cycles[len(x.doc.Cycles)-1]
	log := x.log.With(zap.Int("cycle", index))
	x.emit(Event{Kind: CycleStarted, Run: x.doc, Cycle: c})

	env := &drills.Env{
		RunID:    x.doc.RunID,
		Scenario: x.plan.Scenario.Name,
		Cycle:    index,
		RunDir:   x.files.RunDir(),
		Logger:   log,
		Redactor: x.redactor,
		Vars:     map[string]string{},
	}
	for k, v := range x.plan.Env {
		env.Vars[k] = v
	}
	// scenarios.ProvidedVars: validation accepts a ${NAME} of these.
	env.Vars[scenarios.VarRunID] = x.doc.RunID
	env.Vars[scenarios.VarScenario] = x.plan.Scenario.Name
	env.Vars[scenarios.VarCycle] = strconv.Itoa(index)
	env.Vars[scenarios.VarResultsDir] = x.files.Folder()

	failed := false // a deploy/verify step or provision failed
	var target drills.Target
	cleanups := x.cleanups(env)

	// Fresh workdir with a copy (or a clone) of the source, recorded as a
	// step of the provision phase so its time is visible.
	pinned, cloned := x.doc.Source.Commit, ""
	prep := x.record(c, env, Step{Name: "workdir", Kind: "workdir", Phase: results.PhaseProvision, Timeout: x.plan.DefaultTimeout}, func(ctx context.Context, env *drills.Env) error {
		dir := workdirPath(x.r.tempDir, x.plan.Scenario.Name, x.doc.RunID, index)
		env.Workdir = dir
		env.Vars[scenarios.VarWorkdir] = dir
		c.Workdir = dir
		x.ledgerCreate(resultstore.LedgerEntry{ID: workdirID(index), Kind: resultstore.LedgerWorkdir, Cycle: index, Path: dir})
		if g := x.plan.Git; g != nil {
			if err := os.Mkdir(dir, 0o700); err != nil {
				return fmt.Errorf("create workdir: %w", err)
			}
			commit, wd, err := g.Clone(ctx, env, dir, pinned)
			if err != nil {
				return err
			}
			cloned = commit
			env.Workdir = wd
			env.Vars[scenarios.VarWorkdir] = wd
			return nil
		}
		return newWorkdir(ctx, dir, x.plan.Source)
	})
	if cloned != "" && x.doc.Source.Commit == "" {
		// Every later cycle checks out this commit.
		x.doc.Source.Commit = cloned
	}
	if prep != results.StatusPassed {
		failed = true
	}

	if !failed {
		st := x.record(c, env, Step{Name: "provision", Kind: x.plan.Target.Kind, Phase: results.PhaseProvision, Timeout: x.plan.Target.Timeout}, func(ctx context.Context, env *drills.Env) error {
			t, err := x.plan.Target.New(env)
			if err != nil {
				return err
			}
			target = t
			env.Target = t
			if sc, ok := t.(ScratchScoper); ok {
				x.scratchScope = sc.ScratchScope()
			}
			if sc, ok := t.(drills.ScratchChecker); ok {
				found, err := sc.Preexisting(ctx, env)
				if err != nil {
					var (
						tm *drills.ToolMissingError
						cu *drills.ClusterUnreachableError
					)
					if errors.As(err, &tm) || errors.As(err, &cu) {
						// The check is where the target first meets its
						// environment: what is missing is the news.
						return err
					}
					return fmt.Errorf("check for a leftover target: %w", err)
				}
				x.preexisting = append(x.preexisting, found...)
			}
			if x.plan.Target.Ledger != nil {
				if e := x.plan.Target.Ledger(env, t); e != nil {
					e.ID, e.Cycle = targetID(index), index
					x.ledgerCreate(*e)
				}
			}
			if err := t.Provision(ctx, env); err != nil {
				return err
			}
			return x.exportOutputs(ctx, env, t)
		})
		if st != results.StatusPassed {
			failed = true
		}
	}

	// Deploy and verify steps in order; after the first failure the rest are skipped.
	deployDone := false
	for _, s := range x.plan.Steps {
		if s.Phase == results.PhaseVerify && !deployDone && !failed {
			deployDone = true
			x.checkIdempotent(env, target)
		}
		if failed || x.ctx.Err() != nil {
			x.skip(c, env, s, "an earlier step did not pass")
			continue
		}
		if st := x.record(c, env, s, action(s)); st != results.StatusPassed {
			failed = true
		}
	}
	if !deployDone && !failed && x.ctx.Err() == nil {
		x.checkIdempotent(env, target)
	}

	keep := failed && x.r.keepOnFailure && x.ctx.Err() == nil
	if failed && target != nil {
		x.exportLogs(c, env, target)
	}
	// Teardown steps and the destroy always run, under a context that an
	// interrupt does not cancel (it already canceled the deploy), each with
	// its own timeout.
	for _, s := range x.plan.Teardown {
		if keep {
			x.skip(c, env, s, "kept for debugging (--keep-on-failure)")
			continue
		}
		x.recordTeardown(c, env, s, action(s))
	}
	// What steps deferred to the end of the cycle (Helm releases), newest
	// first, before the target goes: on a cluster that stays, nothing else
	// would remove it.
	for i := len(cleanups.list) - 1; i >= 0; i-- {
		cl := cleanups.list[i]
		s := Step{Name: cl.Name, Kind: cl.Kind, Phase: results.PhaseTeardown, Timeout: cl.Timeout}
		if s.Timeout <= 0 {
			s.Timeout = x.plan.DefaultTimeout
		}
		if s.Timeout <= 0 {
			s.Timeout = x.plan.Target.Timeout
		}
		if keep {
			x.skip(c, env, s, "kept for debugging (--keep-on-failure)")
			continue
		}
		x.recordTeardown(c, env, s, func(ctx context.Context, env *drills.Env) error {
			if err := cl.Remove(ctx, env); err != nil {
				return err
			}
			x.ledgerRelease(cl.Entry.ID)
			return nil
		})
	}
	if target != nil {
		if keep {
			x.skip(c, env, Step{Name: "destroy", Kind: x.plan.Target.Kind, Phase: results.PhaseDestroy}, "kept for debugging (--keep-on-failure)")
		} else {
			x.recordTeardown(c, env, Step{Name: "destroy", Kind: x.plan.Target.Kind, Phase: results.PhaseDestroy, Timeout: x.plan.Target.Timeout}, func(ctx context.Context, env *drills.Env) error {
				if err := target.Destroy(ctx, env); err != nil {
					return x.stillThere(ctx, env, target, err)
				}
				if lc, ok := target.(drills.LeftoverChecker); ok {
					left, err := lc.Leftovers(ctx, env)
					if err != nil {
						return fmt.Errorf("check for leftovers: %w", err)
					}
					if len(left) > 0 {
						x.leftovers = append(x.leftovers, left...)
						return &drills.LeftoverError{When: "after destroy", Items: left}
					}
				}
				x.ledgerRelease(targetID(index))
				return nil
			})
		}
	}

	if keep {
		x.keptWorkdirs = append(x.keptWorkdirs, c.Workdir)
		x.stopAfterCycle = true
		x.emit(Event{Kind: Notice, Run: x.doc, Cycle: c, Message: keepMessage(x.plan, env, target, x.files.Location())})
	} else {
		x.sweepProcesses(c, index)
		x.removeWorkdir(c, env, log)
	}

	end := time.Now()
	c.FinishedAt = utc(end)
	c.DurationMs = end.Sub(start).Milliseconds()
	c.Status = cycleStatus(c.Steps)
	c.Phases = phases(c.Steps)
	x.checkpoint()
	x.emit(Event{Kind: CycleFinished, Run: x.doc, Cycle: c})
}

// exportOutputs turns the target's outputs into DRILL_OUTPUT_<NAME>
// variables; sensitive ones are redacted from then on.
func (x *run) exportOutputs(ctx context.Context, env *drills.Env, t drills.Target) error {
	if s, ok := t.(drills.Sensitive); ok {
		x.redactor.Add(s.SensitiveOutputs()...)
	}
	o, ok := t.(drills.Outputter)
	if !ok {
		return nil
	}
	outs, err := o.Outputs(ctx, env)
	if err != nil {
		return fmt.Errorf("read target outputs: %w", err)
	}
	if s, ok := t.(drills.Sensitive); ok {
		x.redactor.Add(s.SensitiveOutputs()...)
	}
	for k, v := range outs {
		env.Vars[outputVar(k)] = v
	}
	// A target that steps apply manifests to (kind, an existing cluster)
	// hands its kubeconfig to every tool the steps run, kubectl and helm
	// included.
	if kc, ok := outs["KUBECONFIG"]; ok {
		if _, applier := t.(drills.Applier); applier {
			env.Vars[scenarios.VarKubeconfig] = kc
		}
	}
	return nil
}

// outputVar names the variable of a target output: DRILL_OUTPUT_ and the
// name upper-cased, with every character that cannot be part of a shell
// variable name (Terraform allows dashes: "api-host") turned into '_', so a
// script can read it as ${DRILL_OUTPUT_API_HOST}.
func outputVar(name string) string {
	return scenarios.OutputPrefix + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, name)
}

// checkIdempotent runs the idempotency guideline check right after the
// deploy steps: the target's own check (an empty Terraform plan) and that of
// every deploy step that offers one (a dry-run re-apply). A failure is a
// guideline finding, not a step failure.
func (x *run) checkIdempotent(env *drills.Env, target drills.Target) {
	if !x.plan.Target.Idempotent {
		return
	}
	ctx, cancel := context.WithCancel(x.ctx)
	if x.plan.DefaultTimeout > 0 {
		ctx, cancel = context.WithTimeout(x.ctx, x.plan.DefaultTimeout)
	}
	defer cancel()
	check := func(what string, err error) {
		x.idemChecked = true
		if err == nil {
			return
		}
		msg := x.redactor.Redact(err.Error())
		x.notIdempotent = append(x.notIdempotent, fmt.Sprintf("cycle %d: %s: %s", env.Cycle, what, msg))
		x.log.Warn("idempotency check failed", zap.Int("cycle", env.Cycle), zap.String("step", what), zap.String("error", msg))
	}
	if ic, ok := target.(drills.IdempotencyChecker); ok && target != nil {
		check("target "+target.Name(), ic.CheckIdempotent(ctx, env))
	}
	for _, s := range x.plan.Steps {
		if s.Phase != results.PhaseDeploy {
			continue
		}
		ic, ok := s.Action.(drills.IdempotencyChecker)
		switch {
		case ok && s.IdempotencyOff:
			if !slices.Contains(x.idemOff, s.Name) {
				x.idemOff = append(x.idemOff, s.Name)
			}
		case ok:
			check("step "+s.Name, ic.CheckIdempotent(ctx, env))
		}
	}
}

// exportLogs saves the target's diagnostics before it is destroyed after a
// failure, and points the failing step at them.
func (x *run) exportLogs(c *results.Cycle, env *drills.Env, target drills.Target) {
	le, ok := target.(drills.LogExporter)
	if !ok {
		return
	}
	dir := filepath.Join(env.RunDir, fmt.Sprintf("c%d-target-logs", env.Cycle))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(x.ctx), 2*time.Minute)
	defer cancel()
	if err := le.ExportLogs(ctx, env, dir); err != nil {
		x.log.Warn("could not export the target's logs", zap.Error(err))
		return
	}
	// The target wrote these files itself: they pass through the redactor
	// afterwards, like everything else under the results folder.
	if err := redactFiles(dir, x.redactor); err != nil {
		x.log.Warn("could not redact the target's logs; removing them", zap.Error(err))
		_ = os.RemoveAll(dir)
		return
	}
	for i := len(c.Steps) - 1; i >= 0; i-- {
		if s := &c.Steps[i]; s.Status != results.StatusPassed && s.Status != results.StatusSkipped {
			s.Evidence = x.files.Rel(dir)
			break
		}
	}
	x.save()
}

func keepMessage(p *Plan, env *drills.Env, target drills.Target, resultsDir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cycle %d failed; kept for debugging (--keep-on-failure), no further cycle runs:\n  workdir: %s\n", env.Cycle, env.Workdir)
	if target != nil {
		fmt.Fprintf(&b, "  target:  %s\n", target.Name())
	}
	if kc := env.Vars["KUBECONFIG"]; kc != "" {
		fmt.Fprintf(&b, "  export KUBECONFIG=%s\n", kc)
	}
	if p := env.Vars[scenarios.OutputPrefix+"COMPOSE_PROJECT"]; p != "" {
		fmt.Fprintf(&b, "  docker compose -p %s ps\n", p)
	}
	fmt.Fprintf(&b, "clean up with `drill gc --results %s` (it runs the destroy and removes the workdir), or by hand with the scenario's teardown steps", resultsDir)
	return b.String()
}

func cycleStatus(steps []results.Step) results.Status {
	status := results.StatusPassed
	for _, s := range steps {
		switch s.Status {
		case results.StatusCanceled:
			return results.StatusCanceled
		case results.StatusTimedOut:
			status = results.StatusTimedOut
		case results.StatusFailed:
			if status == results.StatusPassed {
				status = results.StatusFailed
			}
		}
	}
	return status
}

func phases(steps []results.Step) results.Phases {
	var p results.Phases
	for _, s := range steps {
		switch s.Phase {
		case results.PhaseProvision:
			p.ProvisionMs += s.DurationMs
		case results.PhaseDeploy:
			p.DeployMs += s.DurationMs
		case results.PhaseVerify:
			p.VerifyMs += s.DurationMs
		case results.PhaseTeardown, results.PhaseDestroy:
			p.TeardownMs += s.DurationMs
		}
	}
	return p
}

// utc returns t in UTC for a document. Durations are measured on the
// original t: UTC() drops the monotonic clock reading, and wall-clock
// differences go wrong (even negative) when NTP steps the clock mid-drill.
func utc(t time.Time) *time.Time {
	u := t.UTC()
	return &u
}

func hostInfo() results.Host {
	name, _ := os.Hostname()
	return results.Host{Name: name, OS: runtime.GOOS, Arch: runtime.GOARCH}
}

// errorsAsTimeout reports whether err (or a context's cause) is a step timeout.
func errorsAsTimeout(err error) (*drills.TimeoutError, bool) {
	var te *drills.TimeoutError
	if errors.As(err, &te) {
		return te, true
	}
	return nil, false
}
