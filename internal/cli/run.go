package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/internal/objectstore"
	"github.com/redeploy-drill/drill/internal/plan"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/tracing"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
	"github.com/redeploy-drill/drill/scenarios"
)

type runFlags struct {
	cycles        int
	parallel      int
	timeout       time.Duration
	keepOnFailure bool
	trigger       string
	output        string
	junit         string
	teardown      time.Duration
	wait          bool
	otlpEndpoint  string
	notify        notifyFlags
	shard         shardFlags
}

func newRunCommand(a *app) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run [flags] PATH...",
		Short: "Run the scenarios (files, or folders searched for kind: Scenario)",
		Long: `run executes each scenario's cycles: a fresh workdir, provision, deploy, verify, teardown
and destroy, timed step by step. Results go under --results. Exit codes: 0 every drill passed
and its guideline holds; 1 a drill failed or the guideline does not hold; 2 invalid input;
3 the environment cannot run the drill; 4 teardown failed; 130/143 interrupted (teardown ran).`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return a.run(cmd.Context(), f, args) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.cycles, "cycles", 0, "override spec.cycles")
	fl.IntVar(&f.parallel, "parallel", 1, "scenarios run at once")
	fl.DurationVar(&f.timeout, "timeout", 0, "limit for the whole invocation (0: none)")
	fl.BoolVar(&f.keepOnFailure, "keep-on-failure", false, "keep the environment of a cycle whose step failed, to debug it, and run no further cycle; prints how to clean up")
	fl.StringVar(&f.trigger, "trigger", "", "manual|schedule|ci (default: ci when CI=true, else manual)")
	fl.StringVarP(&f.output, "output", "o", "text", "text|json (json prints the DrillRun documents on stdout, one per line)")
	fl.StringVar(&f.junit, "junit", "", "also write a JUnit XML report of these runs to FILE")
	fl.BoolVar(&f.wait, "wait", false, "when a scenario is already running in another drill, wait for it instead of exiting 3")
	fl.StringVar(&f.otlpEndpoint, "otlp-endpoint", "", "export each run as an OpenTelemetry trace to this OTLP/HTTP collector (http://host:4318); default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or $OTEL_EXPORTER_OTLP_ENDPOINT, none when unset")
	fl.DurationVar(&f.teardown, "teardown-timeout", runner.DefaultTeardownTimeout, "after an interrupt, the longest any teardown step or destroy may take")
	f.notify.add(cmd, "when a scenario's state changes (starts failing, stops holding, recovers)")
	f.shard.add(cmd)
	return cmd
}

func (a *app) run(ctx context.Context, f *runFlags, args []string) error {
	if err := f.check(); err != nil {
		return err
	}
	list, err := loadAll(a, args)
	if err != nil {
		return err
	}
	all := len(list)
	list, sh, err := selectShard(&f.shard, list)
	if err != nil {
		return err
	}
	if !sh.IsZero() {
		a.say().infof("shard %s: %d of the %d scenarios found", sh, len(list), all)
	}
	if len(list) == 0 {
		// More shards than scenarios: this runner has nothing to do, which
		// is not a failure of the drills the others run.
		if f.junit != "" {
			if err := writeJUnit(f.junit, nil); err != nil {
				return exitf(ExitEnvironment, "--junit %s: %w", f.junit, err)
			}
		}
		return nil
	}
	log, err := newLogger(a.streams.Err, a.logFormat, a.verbose)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	// Build every plan first: a missing secret is an invalid input, found
	// before anything is provisioned.
	plans := make([]*runner.Plan, len(list))
	for i, s := range list {
		if plans[i], err = plan.Build(s, plan.Options{Logger: log, TerraformRelay: self()}); err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %w", s.File, err)}
		}
	}
	store, err := a.openResults(ctx, false)
	if err != nil {
		return err
	}
	if err := resultstore.CheckWritable(store.Dir); err != nil {
		return &ExitError{Code: ExitEnvironment, Err: err}
	}
	traces, err := tracing.New(ctx, tracing.Options{Endpoint: f.otlpEndpoint, Logger: log, Version: Version})
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	// When the command returns: spans are flushed within
	// tracing.FlushTimeout, whatever the collector does.
	defer traces.Shutdown()
	var tracer []runner.Option
	if traces != nil {
		tracer = append(tracer, runner.WithTracer(traces))
	}
	// Each scenario's webhooks: the flags' and its own spec.notify.
	notifyOpts := f.notify.options(a, store)
	announcers := make([][]runner.Option, len(plans))
	for i, p := range plans {
		if an := announcer(a, notifyOpts, p, store); an != nil {
			announcers[i] = []runner.Option{runner.WithAnnouncer(an)}
		}
	}

	ctx, sigs := withSignals(ctx, a.say())
	defer sigs.stop()
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, f.timeout, &drills.TimeoutError{What: "drill run (--timeout)", Timeout: f.timeout})
		defer cancel()
	}

	display := newProgress(a.say(), a.terminal.err, len(list) > 1, openStore(a))
	defer display.close()
	sigs.setOnThird(display.leftBehind)

	docs := make([]*results.Run, len(list))
	errs := make([]error, len(list))
	sem := make(chan struct{}, f.parallel)
	var wg sync.WaitGroup
	tools := toolVersions(ctx, needs(list, isTerraform), needs(list, usesDocker))
	for i := range list {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := runner.New(openStore(a), append([]runner.Option{
				runner.WithLogger(log),
				runner.WithObserver(display.observe),
				runner.WithPrompter(newPrompter(a.streams, a.terminal)),
				runner.WithRedactor(a.redactor),
				runner.WithKeepOnFailure(f.keepOnFailure),
				runner.WithTrigger(trigger(f.trigger)),
				runner.WithTools(tools),
				runner.WithTeardownTimeout(f.teardown),
				runner.WithCycles(f.cycles),
				runner.WithLock(f.wait),
			}, append(tracer, announcers[i]...)...)...)
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			docs[i], errs[i] = r.Run(ctx, plans[i])
		}(i)
	}
	wg.Wait()
	display.close()

	var written []*results.Run
	for i, d := range docs {
		var busy *resultstore.BusyError
		if errs[i] != nil && !errors.As(errs[i], &busy) && !canceled(errs[i]) && !errors.Is(errs[i], context.DeadlineExceeded) {
			// A busy scenario, or one that --timeout or an interrupt kept
			// from starting, ran nothing and is reported below with its exit
			// code; this is for a document that could not be written.
			log.Error("run failed to record", zap.String("scenario", list[i].Metadata.Name), zap.Error(errs[i]))
		}
		if d != nil {
			written = append(written, d)
		}
	}
	if f.output == "json" {
		// JSON Lines: one DrillRun per line, so a job running several
		// scenarios can be read line by line (jq -c, a log shipper).
		enc := json.NewEncoder(a.streams.Out)
		for _, d := range written {
			if err := enc.Encode(d); err != nil {
				return err
			}
		}
	} else {
		printSummary(a.streams.Out, written, objectstore.Display(a.results))
	}
	if f.junit != "" {
		if err := writeJUnit(f.junit, written); err != nil {
			return exitf(ExitEnvironment, "--junit %s: %w", f.junit, err)
		}
	}
	notRun := 0
	for i, e := range errs {
		var busy *resultstore.BusyError
		switch {
		case e == nil:
		case errors.As(e, &busy):
			return exitf(ExitEnvironment, "%s: %w (use --wait to wait for it)", list[i].File, e)
		case sigs.received() != nil && canceled(e):
		case errors.Is(e, context.DeadlineExceeded):
			// --timeout ran out before this scenario's turn came (--parallel).
			notRun++
			a.say().errorf("%s: not run: --timeout %s ran out first", list[i].File, f.timeout)
		default:
			return &ExitError{Code: ExitEnvironment, Err: e}
		}
	}
	code := exitCode(written, sigs.received())
	if notRun > 0 && code == ExitOK {
		code = ExitFailed
	}
	return &ExitError{Code: code}
}

// canceled reports whether a run ended before it started because drill was
// interrupted: while waiting for the scenario's lock (--wait) the error is
// the signal itself, the cause of the canceled context.
func canceled(err error) bool {
	var se *signalError
	return errors.Is(err, context.Canceled) || errors.As(err, &se)
}

func (f *runFlags) check() error {
	switch {
	case f.parallel < 1:
		return exitf(ExitUsage, "--parallel must be at least 1")
	case f.cycles < 0:
		return exitf(ExitUsage, "--cycles must not be negative (0 keeps spec.cycles), got %d", f.cycles)
	case f.cycles > scenarios.MaxCycles:
		return exitf(ExitUsage, "--cycles must be at most %d, got %d", scenarios.MaxCycles, f.cycles)
	case f.timeout < 0:
		return exitf(ExitUsage, "--timeout must not be negative, got %s", f.timeout)
	case f.teardown < 0:
		return exitf(ExitUsage, "--teardown-timeout must not be negative, got %s", f.teardown)
	case f.output != "text" && f.output != "json":
		return exitf(ExitUsage, "--output: %q is not text or json", f.output)
	case f.trigger != "" && f.trigger != "manual" && f.trigger != "schedule" && f.trigger != "ci":
		return exitf(ExitUsage, "--trigger: %q is not manual, schedule or ci", f.trigger)
	}
	if err := tracing.CheckEndpoint(f.otlpEndpoint); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	return f.notify.check()
}

func trigger(flag string) string {
	if flag != "" {
		return flag
	}
	if os.Getenv("CI") == "true" {
		return "ci"
	}
	return "manual"
}

func needs(list []*scenarios.Scenario, target func(scenarios.Target) bool) bool {
	for _, s := range list {
		if target(s.Spec.Target) {
			return true
		}
	}
	return false
}

func isTerraform(t scenarios.Target) bool { return t.Terraform != nil }
func usesDocker(t scenarios.Target) bool  { return t.Kind != nil || t.Compose != nil }

// exitCode folds the runs into one code, the most serious first: an
// interrupt, then the environment, a teardown that may have left something,
// then any failure or guideline that does not hold.
func exitCode(runs []*results.Run, sig os.Signal) int {
	if sig != nil {
		return signalCode(sig)
	}
	code := ExitOK
	for _, r := range runs {
		c := ExitOK
		switch {
		case r.Error != nil && (r.Error.Reason == results.ReasonToolMissing || r.Error.Reason == results.ReasonResultsUnwritable ||
			r.Error.Reason == results.ReasonClusterUnreachable || r.Error.Reason == results.ReasonSourceUnreachable):
			c = ExitEnvironment
		case r.Error != nil && r.Error.Reason == results.ReasonTeardownFailed:
			c = ExitTeardown
		case r.Status != results.StatusPassed || r.Guideline == nil || !r.Guideline.Holds:
			c = ExitFailed
		}
		if rank(c) > rank(code) {
			code = c
		}
	}
	return code
}

func rank(code int) int {
	switch code {
	case ExitEnvironment:
		return 3
	case ExitTeardown:
		return 2
	case ExitFailed:
		return 1
	}
	return 0
}

// self is the drill binary, which serves as terraform's relay; empty when
// it cannot be found (then terraform runs without one).
func self() string {
	path, err := os.Executable()
	if err != nil {
		return ""
	}
	return path
}
