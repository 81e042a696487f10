package tracing_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/internal/plan"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/tracing"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/runner"
	"github.com/redeploy-drill/drill/scenarios"
)

const secret = "s3cr3t-traced-value"

// A scenario with a step that passes on its second attempt, a verify step
// that fails with the secret in its error, and the teardown after it.
const traced = `apiVersion: drill/v1
kind: Scenario
metadata: {name: traced, owner: platform}
spec:
  cycles: 1
  target: {none: {}}
  secrets:
    - {name: TOKEN, fromEnv: DRILL_TEST_TOKEN}
  steps:
    - name: flaky
      owner: app-team
      retries: 1
      retryDelay: 1ms
      run: |
        echo "$TRACEPARENT" >> "$DRILL_RESULTS_DIR/traceparents"
        [ -e "$DRILL_WORKDIR/again" ] || { touch "$DRILL_WORKDIR/again"; exit 3; }
    - name: check
      phase: verify
      run: echo "token $TOKEN"; exit 1
  teardown:
    - name: clean
      run: "true"
`

// runTraced runs the scenario through a real runner whose trace goes to an
// in-memory recorder.
func runTraced(t *testing.T, env map[string]string) (*results.Run, []sdktrace.ReadOnlySpan, string) {
	t.Helper()
	t.Setenv("DRILL_TEST_TOKEN", secret)
	dir := t.TempDir()
	file := filepath.Join(dir, "traced.yaml")
	require.NoError(t, os.WriteFile(file, []byte(traced), 0o644))
	s, err := scenarios.Load(file)
	require.NoError(t, err)
	p, err := plan.Build(s, plan.Options{Logger: zap.NewNop()})
	require.NoError(t, err)

	rec := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	getenv := func(k string) string { return env[k] }
	exp := tracing.NewWithProvider(tracing.Options{Getenv: getenv}, provider)
	store := resultstore.Open(filepath.Join(dir, "results"))
	r := runner.New(store, runner.WithTracer(exp), runner.WithTempDir(t.TempDir()))
	doc, err := r.Run(context.Background(), p)
	require.NoError(t, err)
	exp.Shutdown()
	// DRILL_RESULTS_DIR is the results folder.
	tps, err := os.ReadFile(filepath.Join(dir, "results", "traceparents"))
	require.NoError(t, err)
	return doc, rec.Ended(), string(tps)
}

func attrs(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

func TestRunBecomesOneTraceOfRunCycleAndSteps(t *testing.T) {
	doc, spans, tps := runTraced(t, nil)
	require.Equal(t, results.StatusFailed, doc.Status)

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = s
	}
	run := byName["drill run traced"]
	require.NotNil(t, run, "the run span")
	cycle := byName["cycle 1"]
	require.NotNil(t, cycle)
	// Every step of the document has a span, in the cycle.
	var names []string
	for _, st := range doc.Cycles[0].Steps {
		names = append(names, st.Name)
		s := byName[st.Name]
		require.NotNil(t, s, "span of step %s", st.Name)
		assert.Equal(t, cycle.SpanContext().SpanID(), s.Parent().SpanID(), "step %s is a child of its cycle", st.Name)
		a := attrs(s)
		assert.Equal(t, st.Name, a["cicd.pipeline.task.name"].AsString())
		assert.Equal(t, st.Phase, a["drill.phase"].AsString())
		assert.Equal(t, int64(1), a["drill.cycle"].AsInt64())
	}
	assert.Equal(t, []string{"workdir", "provision", "flaky", "check", "clean", "destroy"}, names)
	assert.Equal(t, run.SpanContext().SpanID(), cycle.Parent().SpanID())
	assert.Equal(t, 1+1+len(names), len(spans), "nothing but the run, its cycle and its steps")
	for _, s := range spans {
		assert.Equal(t, run.SpanContext().TraceID(), s.SpanContext().TraceID(), "one trace")
	}

	flaky := attrs(byName["flaky"])
	assert.Equal(t, "success", flaky["cicd.pipeline.task.run.result"].AsString())
	assert.Equal(t, int64(2), flaky["drill.attempts"].AsInt64())
	assert.True(t, flaky["drill.flaky"].AsBool())
	assert.Equal(t, "app-team", flaky["drill.owner"].AsString())
	assert.Equal(t, "deploy", flaky["cicd.pipeline.task.type"].AsString())
	assert.Equal(t, codes.Ok, byName["flaky"].Status().Code)
	require.Len(t, byName["flaky"].Events(), 1, "one retry event")
	ev := byName["flaky"].Events()[0]
	assert.Equal(t, "retry", ev.Name)

	check := byName["check"]
	assert.Equal(t, codes.Error, check.Status().Code)
	assert.Equal(t, "failure", attrs(check)["cicd.pipeline.task.run.result"].AsString())
	assert.Equal(t, "test", attrs(check)["cicd.pipeline.task.type"].AsString())
	assert.Equal(t, "StepFailed", attrs(check)["drill.reason"].AsString())
	assert.Equal(t, codes.Error, run.Status().Code)
	ra := attrs(run)
	assert.Equal(t, "traced", ra["cicd.pipeline.name"].AsString())
	assert.Equal(t, doc.RunID, ra["cicd.pipeline.run.id"].AsString())
	assert.Equal(t, "failure", ra["cicd.pipeline.result"].AsString())
	assert.False(t, ra["drill.guideline.holds"].AsBool())
	assert.True(t, ra["drill.flaky"].AsBool())
	for _, c := range doc.Guideline.Checks {
		v, ok := ra["drill.guideline.check."+c.Name]
		assert.True(t, ok, "check %s on the run span", c.Name)
		assert.Equal(t, c.OK, v.AsBool(), c.Name)
	}
	assert.NotEmpty(t, ra["drill.guideline.failing"].AsStringSlice())

	// The step's processes saw their own span as TRACEPARENT, once per
	// attempt.
	lines := strings.Fields(tps)
	require.Len(t, lines, 2)
	want := "00-" + run.SpanContext().TraceID().String() + "-" + byName["flaky"].SpanContext().SpanID().String() + "-01"
	assert.Equal(t, []string{want, want}, lines)

	// Timestamps are the document's.
	st := doc.Cycles[0].Steps[2]
	assert.True(t, byName["flaky"].StartTime().Equal(*st.StartedAt))
	assert.True(t, byName["flaky"].EndTime().Equal(*st.FinishedAt))
}

func TestTraceHoldsNoSecret(t *testing.T) {
	_, spans, _ := runTraced(t, nil)
	for _, s := range spans {
		texts := []string{s.Name(), s.Status().Description}
		for _, kv := range s.Attributes() {
			texts = append(texts, kv.Value.Emit())
		}
		for _, e := range s.Events() {
			texts = append(texts, e.Name)
			for _, kv := range e.Attributes {
				texts = append(texts, kv.Value.Emit())
			}
		}
		for _, x := range texts {
			assert.NotContains(t, x, secret, "span %s", s.Name())
		}
	}
}

func TestTraceparentGivenToDrillIsTheRunsParent(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	_, spans, _ := runTraced(t, map[string]string{"TRACEPARENT": parent})
	for _, s := range spans {
		assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", s.SpanContext().TraceID().String(), s.Name())
		if s.Name() == "drill run traced" {
			assert.Equal(t, "00f067aa0ba902b7", s.Parent().SpanID().String())
			assert.True(t, s.Parent().IsRemote())
		}
	}
}

func TestConfigured(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	assert.False(t, tracing.Configured(tracing.Options{Getenv: env(nil)}), "nothing set: no exporter")
	assert.True(t, tracing.Configured(tracing.Options{Getenv: env(nil), Endpoint: "http://127.0.0.1:4318"}))
	assert.True(t, tracing.Configured(tracing.Options{Getenv: env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})}))
	assert.True(t, tracing.Configured(tracing.Options{Getenv: env(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})}))
	assert.False(t, tracing.Configured(tracing.Options{Getenv: env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"})}))
	assert.False(t, tracing.Configured(tracing.Options{Getenv: env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"})}))

	e, err := tracing.New(context.Background(), tracing.Options{Getenv: env(nil)})
	require.NoError(t, err)
	assert.Nil(t, e, "no exporter when nothing is configured")
	e.Shutdown() // a nil exporter shuts down quietly
}

func TestEndpointURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4318":              "http://127.0.0.1:4318/v1/traces",
		"http://127.0.0.1:4318/":             "http://127.0.0.1:4318/v1/traces",
		"127.0.0.1:4318":                     "http://127.0.0.1:4318/v1/traces",
		"https://otel.example.com/v1/traces": "https://otel.example.com/v1/traces",
		"https://gw.example.com/otlp":        "https://gw.example.com/otlp/v1/traces",
	} {
		got, err := tracing.EndpointURL(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"grpc://c:4317", "http://"} {
		_, err := tracing.EndpointURL(in)
		assert.Error(t, err, in)
	}
}
