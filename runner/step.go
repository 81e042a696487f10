package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/results"
)

// tailLines is how many lines of a failing step's output go into the result.
const tailLines = 20

// action returns the function that runs s, or nil for a manual step that is
// only a human's task (internal/plan leaves its Action nil). Taking the
// method value of a nil Action would panic before the step is even recorded.
func action(s Step) drills.StepFunc {
	if s.Action == nil {
		return nil
	}
	return s.Action.Run
}

// record runs one deploy, verify or provision step under the run's context,
// with its timeout and retries, and records it.
func (x *run) record(c *results.Cycle, env *drills.Env, s Step, fn drills.StepFunc) results.Status {
	return x.exec(x.ctx, c, env, s, fn)
}

// recordTeardown runs a teardown step or the destroy. It must run even when
// the drill was interrupted, so its context does not inherit the run's
// cancellation; after an interrupt its timeout is capped by TeardownTimeout.
func (x *run) recordTeardown(c *results.Cycle, env *drills.Env, s Step, fn drills.StepFunc) results.Status {
	if s.Phase == "" {
		s.Phase = results.PhaseTeardown
	}
	if x.ctx.Err() != nil {
		limit := x.r.teardownTimeout
		if limit <= 0 {
			limit = DefaultTeardownTimeout
		}
		if s.Timeout <= 0 || s.Timeout > limit {
			s.Timeout = limit
		}
	}
	return x.exec(context.WithoutCancel(x.ctx), c, env, s, fn)
}

// skip records a step that did not run.
func (x *run) skip(c *results.Cycle, env *drills.Env, s Step, why string) {
	c.Steps = append(c.Steps, results.Step{
		Name: s.Name, Kind: s.Kind, Phase: s.Phase, Owner: x.owner(s),
		Status: results.StatusSkipped, TimeoutMs: s.Timeout.Milliseconds(),
		Manual: s.Manual != "",
		Error:  &results.Error{Reason: results.ReasonSkipped, Message: why},
	})
	x.save()
	x.emit(Event{Kind: StepFinished, Run: x.doc, Cycle: c, Step: &c.Steps[len(c.Steps)-1]})
}

func (x *run) owner(s Step) string {
	if s.Owner != "" {
		return s.Owner
	}
	return x.plan.Scenario.Owner
}

// exec is the heart of the runner: one step, its attempts, its log and its record.
func (x *run) exec(parent context.Context, c *results.Cycle, env *drills.Env, s Step, fn drills.StepFunc) results.Status {
	start := time.Now()
	logPath := x.files.Log(env.Cycle, len(c.Steps), s.Name)
	c.Steps = append(c.Steps, results.Step{
		Name: s.Name, Kind: s.Kind, Phase: s.Phase, Owner: x.owner(s),
		Status: results.StatusRunning, StartedAt: utc(start),
		TimeoutMs: s.Timeout.Milliseconds(), Manual: s.Manual != "",
		Log: x.files.Rel(logPath),
	})
	rec := &c.Steps[len(c.Steps)-1]
	x.saveNow()
	x.emit(Event{Kind: StepStarted, Run: x.doc, Cycle: c, Step: rec})
	defer x.traceparent(env)()
	log := env.ZapLogger().With(zap.String("step", s.Name), zap.String("phase", s.Phase))

	out, tail, closeLog := x.openLog(logPath, log)
	env.Log = out
	defer func() { env.Log = nil }()

	var err error
	if s.Manual != "" {
		waitStart := time.Now()
		err = x.confirm(parent, s)
		rec.WaitedMs = time.Since(waitStart).Milliseconds()
		x.manualSteps = append(x.manualSteps, s.Name)
	}
	if err == nil && fn != nil {
		err = x.attempts(parent, env, s, fn, rec, out)
	} else if err == nil {
		rec.Attempts = 1
	}
	logErr := closeLog()

	end := time.Now()
	rec.FinishedAt = utc(end)
	rec.DurationMs = end.Sub(start).Milliseconds()
	rec.Status, rec.Error = x.classify(parent, err, s)
	if logErr != nil {
		x.noteResultsError(logErr)
		x.unwritableLog(rec, logErr)
	}
	if rec.Error != nil {
		rec.Error.OutputTail = x.redactor.Redact(tail.String())
	}
	if rec.Status == results.StatusPassed && rec.Attempts > 1 {
		rec.Flaky = true
	}
	log.Info("step finished", zap.String("status", string(rec.Status)), zap.Int64("durationMs", rec.DurationMs))
	x.noticeLostResults(c, s.Name)
	x.save()
	x.emit(Event{Kind: StepFinished, Run: x.doc, Cycle: c, Step: rec})
	return rec.Status
}

// traceparent gives the step that just started its span's TRACEPARENT
// (when the run is traced), and returns what puts the cycle's variables back.
func (x *run) traceparent(env *drills.Env) (restore func()) {
	if x.trace == nil {
		return func() {}
	}
	tp := x.trace.Traceparent()
	if tp == "" {
		return func() {}
	}
	old, had := env.Vars[TraceparentVar]
	env.Vars[TraceparentVar] = tp
	return func() {
		if had {
			env.Vars[TraceparentVar] = old
		} else {
			delete(env.Vars, TraceparentVar)
		}
	}
}

// TraceparentVar is the variable that carries a W3C trace context into a
// step's processes (and, given to drill, makes a run's trace a child of a
// CI pipeline's).
const TraceparentVar = "TRACEPARENT"

// attempts runs fn up to 1+Retries times, each attempt with the step's full
// timeout, waiting RetryDelay in between. Cancellation and timeouts of the
// whole run stop the retries.
func (x *run) attempts(parent context.Context, env *drills.Env, s Step, fn drills.StepFunc, rec *results.Step, out *stepOutput) error {
	var err error
	for attempt := 1; ; attempt++ {
		rec.Attempts = attempt
		if attempt > 1 {
			out.mark("--- attempt %d of %d\n", attempt, s.Retries+1)
		}
		ctx, cancel := context.WithTimeoutCause(parent, s.Timeout, &drills.TimeoutError{What: "step " + s.Name, Timeout: s.Timeout})
		if s.Timeout <= 0 {
			ctx, cancel = context.WithCancel(parent)
		}
		err = fn(ctx, env)
		if err == nil && ctx.Err() != nil {
			// The action returned cleanly but too late to count.
			err = context.Cause(ctx)
		}
		if err != nil && ctx.Err() != nil && !errors.Is(err, context.Cause(ctx)) {
			err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
		cancel()
		if err == nil {
			return nil
		}
		out.mark("--- attempt %d failed: %s\n", attempt, x.redactor.Redact(err.Error()))
		var ee *drills.EvidenceError
		if errors.As(err, &ee) && ee.Evidence != "" {
			out.mark("--- evidence:\n%s\n", ee.Evidence)
		}
		if attempt > s.Retries || parent.Err() != nil {
			return err
		}
		x.emit(Event{Kind: StepRetrying, Run: x.doc, Step: rec, Attempt: attempt, Message: x.redactor.Redact(err.Error())})
		t := time.NewTimer(s.RetryDelay)
		select {
		case <-t.C:
		case <-parent.Done():
			t.Stop()
			return err
		}
	}
}

// confirm asks the operator to do a manual step. Unattended, the step fails:
// the runbook is not automated.
func (x *run) confirm(ctx context.Context, s Step) error {
	if x.r.prompter == nil {
		return &drills.ManualStepError{Step: s.Name}
	}
	return x.r.prompter.Confirm(ctx, s.Name, s.Manual)
}

// classify maps a step's error onto a status and a reason of the closed set.
func (x *run) classify(parent context.Context, err error, s Step) (results.Status, *results.Error) {
	if err == nil {
		return results.StatusPassed, nil
	}
	msg := x.redactor.Redact(err.Error())
	var (
		tm *drills.ToolMissingError
		cu *drills.ClusterUnreachableError
		su *drills.SourceUnreachableError
		me *drills.ManualStepError
		le *drills.LeftoverError
	)
	switch {
	case parent.Err() != nil && errors.Is(err, context.Canceled):
		return results.StatusCanceled, &results.Error{Reason: results.ReasonCanceled, Message: msg}
	case isTimeout(err):
		return results.StatusTimedOut, &results.Error{Reason: results.ReasonTimeout, Message: msg}
	case parent.Err() != nil:
		return results.StatusCanceled, &results.Error{Reason: results.ReasonCanceled, Message: msg}
	case errors.As(err, &tm):
		return results.StatusFailed, &results.Error{Reason: results.ReasonToolMissing, Message: msg}
	case errors.As(err, &cu):
		return results.StatusFailed, &results.Error{Reason: results.ReasonClusterUnreachable, Message: msg}
	case errors.As(err, &su):
		return results.StatusFailed, &results.Error{Reason: results.ReasonSourceUnreachable, Message: msg}
	case errors.As(err, &me):
		return results.StatusFailed, &results.Error{Reason: results.ReasonNotAutomated, Message: msg}
	case errors.As(err, &le):
		return results.StatusFailed, &results.Error{Reason: results.ReasonLeftovers, Message: msg}
	case s.Phase == results.PhaseTeardown || s.Phase == results.PhaseDestroy:
		return results.StatusFailed, &results.Error{Reason: results.ReasonTeardownFailed, Message: msg}
	default:
		return results.StatusFailed, &results.Error{Reason: results.ReasonStepFailed, Message: msg}
	}
}

func isTimeout(err error) bool {
	_, ok := errorsAsTimeout(err)
	return ok
}

// openLog creates the step's log file behind a redacting writer, and a tail
// buffer of the redacted output for the result document. The writer never
// fails the step: when the file cannot be created or written (the disk is
// full), the output still reaches the tail, the step's process is never
// blocked or killed by a broken pipe because drill could not log, and the
// close function returns the first failure, which the runner records as
// drill's environment failing.
func (x *run) openLog(path string, log *zap.Logger) (*stepOutput, *tailBuffer, func() error) {
	tail := newTailBuffer(tailLines)
	file := &logFile{path: path}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		file.err = fmt.Errorf("create the log folder of %s: %w", x.files.Rel(path), err)
	} else if f, err := os.Create(path); err != nil {
		file.err = fmt.Errorf("create the step log %s: %w", x.files.Rel(path), err)
	} else {
		file.f = f
	}
	if file.err != nil {
		log.Warn("could not create the step log", zap.Error(file.err))
	}
	w := x.redactor.Writer(io.MultiWriter(file, tail))
	return &stepOutput{w: w}, tail, func() error {
		_ = w.Close()
		return file.close(x.files.Rel(path))
	}
}

// logFile is a step log that swallows its write errors and remembers the
// first: a step's output must keep flowing to the tail buffer (and the
// step's process must not block) whatever happens to the file.
type logFile struct {
	path string
	f    *os.File
	err  error
}

func (l *logFile) Write(p []byte) (int, error) {
	if l.f != nil && l.err == nil {
		if _, err := l.f.Write(p); err != nil {
			l.err = err
		}
	}
	return len(p), nil
}

// close closes the file and returns the first error the log met, naming it.
func (l *logFile) close(rel string) error {
	if l.f != nil {
		if err := l.f.Close(); err != nil && l.err == nil {
			l.err = err
		}
	}
	if l.err != nil && !strings.Contains(l.err.Error(), rel) {
		return fmt.Errorf("write the step log %s: %w", rel, l.err)
	}
	return l.err
}

// unwritableLog makes a step whose log could not be written say so. A
// step that failed meanwhile is not blamed on the runbook: its failure is
// recorded as drill's environment failing (the disk holding the results
// filled up, and the step may well have failed for the same reason).
func (x *run) unwritableLog(rec *results.Step, err error) {
	msg := x.redactor.Redact(err.Error())
	if rec.Error == nil {
		return // passed; the run's error tells that its evidence is incomplete
	}
	if rec.Error.Reason == results.ReasonStepFailed || rec.Error.Reason == results.ReasonTeardownFailed {
		rec.Error.Reason = results.ReasonResultsUnwritable
		rec.Error.Message = "drill could not record this step: " + msg + "; the step's own failure (" + rec.Error.Message + ") may come from the same cause"
	}
}

// stepOutput is a step's log writer that remembers whether the output so far
// ends in the middle of a line, so that drill's own "--- attempt" lines start
// on a line of their own instead of being glued to a script's last line.
type stepOutput struct {
	mu  sync.Mutex
	w   io.Writer
	mid bool
}

func (o *stepOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.w.Write(p)
	if n > 0 {
		o.mid = p[n-1] != '\n'
	}
	return n, err
}

// mark writes a line of drill's own; format ends with a newline.
func (o *stepOutput) mark(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.mid {
		_, _ = io.WriteString(o.w, "\n")
	}
	_, _ = fmt.Fprintf(o.w, format, args...)
	o.mid = false
}
