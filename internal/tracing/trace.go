package tracing

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
)

// drill's own attributes, beside the CI/CD conventions.
const (
	attrScenario     = attribute.Key("drill.scenario")
	attrScenarioFile = attribute.Key("drill.scenario.file")
	attrOwner        = attribute.Key("drill.owner")
	attrTrigger      = attribute.Key("drill.trigger")
	attrCycle        = attribute.Key("drill.cycle")
	attrPhase        = attribute.Key("drill.phase")
	attrKind         = attribute.Key("drill.step.kind")
	attrManual       = attribute.Key("drill.step.manual")
	attrStatus       = attribute.Key("drill.status")
	attrReason       = attribute.Key("drill.reason")
	attrAttempts     = attribute.Key("drill.attempts")
	attrAttempt      = attribute.Key("drill.attempt")
	attrFlaky        = attribute.Key("drill.flaky")
	attrTimeoutMs    = attribute.Key("drill.timeout_ms")
	attrBudgetMs     = attribute.Key("drill.budget_ms")
	attrHolds        = attribute.Key("drill.guideline.holds")
	attrFailing      = attribute.Key("drill.guideline.failing")
	// attrCheck prefixes one boolean per guideline check:
	// drill.guideline.check.<name>.
	attrCheck = "drill.guideline.check."
)

// StartTrace implements runner.Tracer: the trace of one run.
func (e *Exporter) StartTrace(redact func(string) string) runner.Trace {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	return &runTrace{tracer: e.tracer, parent: e.parent, redact: redact}
}

var _ runner.Tracer = (*Exporter)(nil)

// runTrace maps a run's events to spans. The runner calls it from one
// goroutine, so it needs no lock.
type runTrace struct {
	tracer trace.Tracer
	parent context.Context
	redact func(string) string

	runCtx, cycleCtx, stepCtx context.Context
	run, cycle, step          trace.Span
	steps                     int // steps of the current cycle, for task run ids
}

func (t *runTrace) Observe(e runner.Event) {
	switch e.Kind {
	case runner.RunStarted:
		t.runCtx, t.run = t.tracer.Start(t.parent, t.redact("drill run "+e.Run.Scenario.Name),
			trace.WithTimestamp(e.Run.StartedAt), trace.WithSpanKind(trace.SpanKindInternal),
			trace.WithAttributes(
				semconv.CICDPipelineName(t.redact(e.Run.Scenario.Name)),
				semconv.CICDPipelineRunID(e.Run.RunID),
				semconv.CICDPipelineActionNameRun,
				attrScenario.String(t.redact(e.Run.Scenario.Name)),
				attrScenarioFile.String(t.redact(e.Run.Scenario.File)),
				attrOwner.String(t.redact(e.Run.Scenario.Owner)),
				attrTrigger.String(t.redact(e.Run.Trigger)),
			))
	case runner.CycleStarted:
		if t.run == nil {
			return
		}
		t.steps = 0
		t.cycleCtx, t.cycle = t.tracer.Start(t.runCtx, "cycle "+strconv.Itoa(e.Cycle.Index),
			trace.WithTimestamp(e.Cycle.StartedAt), trace.WithAttributes(attrCycle.Int(e.Cycle.Index)))
	case runner.StepStarted:
		t.startStep(e, stamp(e.Step.StartedAt))
	case runner.StepRetrying:
		if t.step != nil {
			t.step.AddEvent("retry", trace.WithAttributes(
				attrAttempt.Int(e.Attempt),
				semconv.ExceptionMessage(t.redact(e.Message)),
			))
		}
	case runner.StepFinished:
		if t.step == nil {
			// A skipped step never started: its span is an instant.
			t.startStep(e, time.Now())
		}
		t.endStep(e)
	case runner.CycleFinished:
		if t.cycle == nil {
			return
		}
		t.cycle.SetAttributes(attrStatus.String(string(e.Cycle.Status)))
		setStatus(t.cycle, e.Cycle.Status, "")
		t.cycle.End(trace.WithTimestamp(stamp(e.Cycle.FinishedAt)))
		t.cycle, t.cycleCtx = nil, nil
	case runner.Notice:
		if t.run != nil {
			t.run.AddEvent("notice", trace.WithAttributes(attribute.String("message", t.redact(e.Message))))
		}
	case runner.RunFinished:
		t.endRun(e.Run)
	}
}

func (t *runTrace) startStep(e runner.Event, start time.Time) {
	parent := t.cycleCtx
	if parent == nil {
		parent = t.runCtx
	}
	if parent == nil {
		return
	}
	t.steps++
	s := e.Step
	cycle := 0
	if e.Cycle != nil {
		cycle = e.Cycle.Index
	}
	attrs := []attribute.KeyValue{
		semconv.CICDPipelineTaskName(t.redact(s.Name)),
		semconv.CICDPipelineTaskRunID(e.Run.RunID + "/" + strconv.Itoa(cycle) + "/" + strconv.Itoa(t.steps)),
		taskType(s.Phase),
		attrCycle.Int(cycle),
		attrPhase.String(s.Phase),
		attrKind.String(s.Kind),
		attrOwner.String(t.redact(s.Owner)),
	}
	if s.TimeoutMs > 0 {
		attrs = append(attrs, attrTimeoutMs.Int64(s.TimeoutMs))
	}
	if s.Manual {
		attrs = append(attrs, attrManual.Bool(true))
	}
	t.stepCtx, t.step = t.tracer.Start(parent, t.redact(s.Name), trace.WithTimestamp(start), trace.WithAttributes(attrs...))
}

func (t *runTrace) endStep(e runner.Event) {
	if t.step == nil {
		return
	}
	s := e.Step
	attrs := []attribute.KeyValue{
		semconv.CICDPipelineTaskRunResultKey.String(result(s.Status, s.Error)),
		attrStatus.String(string(s.Status)),
		attrAttempts.Int(s.Attempts),
	}
	if s.Flaky {
		attrs = append(attrs, attrFlaky.Bool(true))
	}
	msg := ""
	if s.Error != nil {
		attrs = append(attrs, attrReason.String(string(s.Error.Reason)))
		msg = t.redact(s.Error.Message)
	}
	t.step.SetAttributes(attrs...)
	setStatus(t.step, s.Status, msg)
	end := time.Now()
	if s.FinishedAt != nil {
		end = *s.FinishedAt
	}
	t.step.End(trace.WithTimestamp(end))
	t.step, t.stepCtx = nil, nil
}

func (t *runTrace) endRun(r *results.Run) {
	if t.run == nil {
		return
	}
	attrs := []attribute.KeyValue{
		semconv.CICDPipelineResultKey.String(result(r.Status, r.Error)),
		attrStatus.String(string(r.Status)),
	}
	if r.BudgetMs > 0 {
		attrs = append(attrs, attrBudgetMs.Int64(r.BudgetMs))
	}
	flaky := false
	for _, c := range r.Cycles {
		for _, s := range c.Steps {
			flaky = flaky || s.Flaky
		}
	}
	attrs = append(attrs, attrFlaky.Bool(flaky))
	if g := r.Guideline; g != nil {
		attrs = append(attrs, attrHolds.Bool(g.Holds))
		var failing []string
		for _, c := range g.Checks {
			attrs = append(attrs, attribute.Bool(attrCheck+c.Name, c.OK))
			if !c.OK {
				failing = append(failing, c.Name)
			}
		}
		if len(failing) > 0 {
			attrs = append(attrs, attrFailing.StringSlice(failing)) // check names: drill's own words
		}
	}
	msg := ""
	if r.Error != nil {
		attrs = append(attrs, attrReason.String(string(r.Error.Reason)))
		msg = t.redact(r.Error.Message)
	}
	t.run.SetAttributes(attrs...)
	setStatus(t.run, r.Status, msg)
	t.run.End(trace.WithTimestamp(stamp(r.FinishedAt)))
	t.run, t.runCtx = nil, nil
}

// Traceparent is the W3C traceparent of the step under way.
func (t *runTrace) Traceparent() string {
	if t.stepCtx == nil {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(t.stepCtx, c)
	return c["traceparent"]
}

// setStatus: passed is Ok, skipped and running leave the status unset,
// anything else is an Error with the (redacted) message.
func setStatus(s trace.Span, st results.Status, msg string) {
	switch st {
	case results.StatusPassed:
		s.SetStatus(codes.Ok, "")
	case results.StatusSkipped, results.StatusRunning:
	default:
		if msg == "" {
			msg = string(st)
		}
		s.SetStatus(codes.Error, msg)
	}
}

// result maps a status to cicd.pipeline(.task.run).result. A step that
// could not run for want of a tool, a cluster, a source or a writable
// results folder is an error of the pipeline, not a failure of the
// redeploy.
func result(st results.Status, err *results.Error) string {
	switch st {
	case results.StatusPassed:
		return "success"
	case results.StatusTimedOut:
		return "timeout"
	case results.StatusCanceled:
		return "cancellation"
	case results.StatusSkipped:
		return "skip"
	}
	if err != nil {
		switch err.Reason {
		case results.ReasonToolMissing, results.ReasonClusterUnreachable, results.ReasonSourceUnreachable, results.ReasonResultsUnwritable:
			return "error"
		}
	}
	return "failure"
}

// taskType: verify steps test, every other phase deploys (or undeploys).
func taskType(phase string) attribute.KeyValue {
	if phase == results.PhaseVerify {
		return semconv.CICDPipelineTaskTypeTest
	}
	return semconv.CICDPipelineTaskTypeDeploy
}

func stamp(t *time.Time) time.Time {
	if t == nil {
		return time.Now()
	}
	return *t
}
