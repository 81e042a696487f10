package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// These tests export drills to a real Jaeger v2 on 127.0.0.1 and read the
// traces back through its query API, as someone looking at a nightly drill
// in their tracing backend would.

const tracedSecret = "tr4ced-s3cret-value"

// jaegerTrace is the part of Jaeger's /api/traces answer the tests read.
type jaegerTrace struct {
	TraceID string       `json:"traceID"`
	Spans   []jaegerSpan `json:"spans"`
	// Processes hold the resource: service.name and its attributes.
	Processes map[string]struct {
		ServiceName string      `json:"serviceName"`
		Tags        []jaegerTag `json:"tags"`
	} `json:"processes"`
}

type jaegerSpan struct {
	SpanID     string `json:"spanID"`
	Operation  string `json:"operationName"`
	References []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	Tags []jaegerTag `json:"tags"`
	Logs []struct {
		Fields []jaegerTag `json:"fields"`
	} `json:"logs"`
}

type jaegerTag struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

func (s jaegerSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// tag returns the span's attribute key as text ("" when absent).
func (s jaegerSpan) tag(key string) string {
	for _, t := range s.Tags {
		if t.Key == key {
			return fmt.Sprint(t.Value)
		}
	}
	return ""
}

// events returns the names of the span's events (Jaeger's logs).
func (s jaegerSpan) events() []string {
	var names []string
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			if f.Key == "event" {
				names = append(names, fmt.Sprint(f.Value))
			}
		}
	}
	return names
}

// fetchTrace waits until Jaeger holds trace id with at least want spans
// and returns it. Jaeger stores spans as they arrive, so the poll ends as
// soon as the drill's flush has been received.
func fetchTrace(t *testing.T, j *testtools.Jaeger, id string, want int) jaegerTrace {
	t.Helper()
	var got jaegerTrace
	var last string
	require.Eventually(t, func() bool {
		resp, err := http.Get(j.Query + "/api/traces/" + id)
		if err != nil {
			last = err.Error()
			return false
		}
		defer resp.Body.Close()
		var body struct {
			Data []jaegerTrace `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Data) != 1 {
			last = fmt.Sprintf("HTTP %d, %v, %d traces", resp.StatusCode, err, len(body.Data))
			return false
		}
		got = body.Data[0]
		last = fmt.Sprintf("%d spans", len(got.Spans))
		return len(got.Spans) >= want
	}, 30*time.Second, 50*time.Millisecond, "trace %s in jaeger (last: %s)", id, func() string { return last }())
	return got
}

// tracedScenario is testdata/traced in a git repository of its own, so
// that its guideline holds when it passes.
func tracedScenario(t *testing.T) string {
	return filepath.Join(gitCopy(t, map[string]string{"traced": "testdata/traced"}), "traced", "scenario.yaml")
}

// spansOf indexes a trace: the run span, the cycle spans by number, and
// each cycle's step spans by name.
type spansOf struct {
	run    jaegerSpan
	cycles map[string]jaegerSpan
	steps  map[string]map[string]jaegerSpan
}

func index(t *testing.T, tr jaegerTrace, scenario string) spansOf {
	t.Helper()
	x := spansOf{cycles: map[string]jaegerSpan{}, steps: map[string]map[string]jaegerSpan{}}
	var found bool
	byID := map[string]string{} // cycle span id -> cycle number
	for _, s := range tr.Spans {
		switch {
		case s.Operation == "drill run "+scenario:
			x.run, found = s, true
		case strings.HasPrefix(s.Operation, "cycle "):
			x.cycles[s.tag("drill.cycle")] = s
			byID[s.SpanID] = s.tag("drill.cycle")
		}
	}
	require.True(t, found, "a run span among %d", len(tr.Spans))
	for _, s := range tr.Spans {
		if c, ok := byID[s.parent()]; ok {
			if x.steps[c] == nil {
				x.steps[c] = map[string]jaegerSpan{}
			}
			x.steps[c][s.Operation] = s
		}
	}
	return x
}

// traceIDs reads the traceparent the deploy step saw: 00-<trace>-<span>-01.
func traceIDs(t *testing.T, markers string) (traceID, spanID string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(markers, "traceparent"))
	require.NoError(t, err, "the deploy step recorded TRACEPARENT")
	parts := strings.Split(strings.TrimSpace(string(data)), "-")
	require.Len(t, parts, 4, "a W3C traceparent: %q", data)
	return parts[1], parts[2]
}

func TestRunExportsOneTraceToJaeger(t *testing.T) {
	testtools.Need(t, "terraform", "make tools installs it")
	j := testtools.NeedJaeger(t)
	scenario, markers, resultsDir := tracedScenario(t), t.TempDir(), t.TempDir()
	// A CI pipeline's traceparent: the run span becomes its child.
	const pipelineTrace, pipelineSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	r := drill(t, []string{
		"MARKER_DIR=" + markers,
		"DRILL_TEST_TOKEN=" + tracedSecret,
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + j.OTLP,
		"TRACEPARENT=00-" + pipelineTrace + "-" + pipelineSpan + "-01",
	}, "run", "--results", resultsDir, scenario)
	// The drill passed, but a step needed a retry: not-flaky fails.
	require.Equal(t, 1, r.code, "%s", r.stderr)
	assert.NotContains(t, r.stderr, "traces were not all exported")
	run := readRun(t, resultsDir, "traced")
	require.Equal(t, results.StatusPassed, run.Status)
	require.Len(t, run.Cycles, 2)

	traceID, deploySpan := traceIDs(t, markers)
	assert.Equal(t, pipelineTrace, traceID, "the run joins the pipeline's trace")
	// The run, its cycles and every step of each.
	want := 1 + len(run.Cycles)
	for _, c := range run.Cycles {
		want += len(c.Steps)
	}
	tr := fetchTrace(t, j, traceID, want)
	require.Len(t, tr.Spans, want, "one span per run, cycle and step, nothing else")
	x := index(t, tr, "traced")

	root := x.run
	assert.Equal(t, pipelineSpan, root.parent(), "the run span's parent is the pipeline's span")
	assert.Equal(t, "traced", root.tag("cicd.pipeline.name"))
	assert.Equal(t, run.RunID, root.tag("cicd.pipeline.run.id"))
	assert.Equal(t, "success", root.tag("cicd.pipeline.result"))
	assert.Equal(t, "passed", root.tag("drill.status"))
	assert.Equal(t, "platform", root.tag("drill.owner"))
	assert.Equal(t, "true", root.tag("drill.flaky"), "a step passed on a retry")
	require.NotNil(t, run.Guideline)
	assert.Equal(t, "false", root.tag("drill.guideline.holds"), "%+v", run.Guideline.Checks)
	assert.Equal(t, "false", root.tag("drill.guideline.check.not-flaky"))
	assert.Contains(t, root.tag("drill.guideline.failing"), "not-flaky")
	for _, c := range run.Guideline.Checks {
		assert.Equal(t, fmt.Sprint(c.OK), root.tag("drill.guideline.check."+c.Name), c.Name)
	}
	assert.Equal(t, "ok", strings.ToLower(root.tag("otel.status_code")))

	for _, c := range run.Cycles {
		n := fmt.Sprint(c.Index)
		cycle, ok := x.cycles[n]
		require.True(t, ok, "a span for cycle %d", c.Index)
		assert.Equal(t, root.SpanID, cycle.parent())
		assert.Equal(t, "passed", cycle.tag("drill.status"))
		var names []string
		for _, s := range c.Steps {
			names = append(names, s.Name)
			span, ok := x.steps[n][s.Name]
			require.True(t, ok, "cycle %d: a span for step %s", c.Index, s.Name)
			assert.Equal(t, s.Name, span.tag("cicd.pipeline.task.name"))
			assert.Equal(t, s.Phase, span.tag("drill.phase"), s.Name)
			assert.Equal(t, n, span.tag("drill.cycle"), s.Name)
			assert.Equal(t, "success", span.tag("cicd.pipeline.task.run.result"), s.Name)
			assert.Equal(t, fmt.Sprint(s.Attempts), span.tag("drill.attempts"), s.Name)
		}
		assert.Subset(t, names, []string{"provision", "deploy", "healthy", "stop", "destroy"})
	}
	first, second := x.steps["1"], x.steps["2"]
	assert.Equal(t, deploySpan, second["deploy"].SpanID, "the step's TRACEPARENT names its own span (the last deploy wrote it)")
	assert.Equal(t, "app-team", first["deploy"].tag("drill.owner"))
	healthy := first["healthy"]
	assert.Equal(t, "2", healthy.tag("drill.attempts"))
	assert.Equal(t, "true", healthy.tag("drill.flaky"))
	assert.Equal(t, "test", healthy.tag("cicd.pipeline.task.type"))
	assert.Equal(t, "deploy", first["deploy"].tag("cicd.pipeline.task.type"))
	assert.Equal(t, []string{"retry"}, healthy.events())
	assert.Empty(t, second["healthy"].events(), "passed at once in cycle 2")

	var drillProcess bool
	for _, p := range tr.Processes {
		drillProcess = drillProcess || p.ServiceName == "drill"
	}
	assert.True(t, drillProcess, "service.name drill")

	// The secret was in a step's output and error; the trace holds none of it.
	raw, err := json.Marshal(tr)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), tracedSecret)
}

func TestOTLPEndpointFlagAndFailedRunStatus(t *testing.T) {
	testtools.Need(t, "terraform", "make tools installs it")
	j := testtools.NeedJaeger(t)
	scenario, markers, resultsDir := tracedScenario(t), t.TempDir(), t.TempDir()
	// The verify step fails on both attempts, with the secret on stderr.
	require.NoError(t, os.WriteFile(filepath.Join(markers, "broken"), nil, 0o644))
	r := drill(t, []string{"MARKER_DIR=" + markers, "DRILL_TEST_TOKEN=" + tracedSecret},
		"run", "--results", resultsDir, "--otlp-endpoint", j.OTLP, scenario)
	require.Equal(t, 1, r.code, "%s", r.stderr)
	run := readRun(t, resultsDir, "traced")
	require.Equal(t, results.StatusFailed, run.Status)

	traceID, _ := traceIDs(t, markers)
	want := 1 + len(run.Cycles)
	for _, c := range run.Cycles {
		want += len(c.Steps)
	}
	x := index(t, fetchTrace(t, j, traceID, want), "traced")
	root := x.run
	assert.Empty(t, root.parent(), "no TRACEPARENT given: the run span is the root")
	assert.Equal(t, "failure", root.tag("cicd.pipeline.result"))
	assert.Equal(t, "error", strings.ToLower(root.tag("otel.status_code")))
	assert.Equal(t, "StepFailed", root.tag("drill.reason"))
	assert.Equal(t, "false", root.tag("drill.guideline.holds"))
	first := x.steps["1"]
	healthy := first["healthy"]
	assert.Equal(t, "failure", healthy.tag("cicd.pipeline.task.run.result"))
	assert.Equal(t, "error", strings.ToLower(healthy.tag("otel.status_code")))
	assert.Equal(t, "StepFailed", healthy.tag("drill.reason"))
	assert.Equal(t, []string{"retry"}, healthy.events(), "one retry before the last attempt")
	// The teardown and destroy still ran and are in the trace.
	assert.Equal(t, "success", first["stop"].tag("cicd.pipeline.task.run.result"))
	assert.Equal(t, "success", first["destroy"].tag("cicd.pipeline.task.run.result"))
	raw, err := json.Marshal(x)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), tracedSecret)
}

func TestUnreachableCollectorIsAWarningNotAFailure(t *testing.T) {
	resultsDir := t.TempDir()
	dir := t.TempDir()
	file := filepath.Join(dir, "quiet.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: quiet, owner: e2e}
spec:
  cycles: 2
  target: {none: {}}
  steps:
    - {name: one, run: "true"}
`), 0o644))
	gitInit(t, dir) // version-controlled: the guideline holds
	r := drill(t, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + closedAddr(t)}, "run", "--results", resultsDir, file)
	assert.Equal(t, 0, r.code, "%s", r.stderr)
	assert.Contains(t, r.stderr, "traces were not all exported")
	assert.Equal(t, results.StatusPassed, readRun(t, resultsDir, "quiet").Status)
}

func TestBadOTLPEndpointIsAUsageError(t *testing.T) {
	r := drill(t, nil, "run", "--otlp-endpoint", "ftp://collector:4318", "testdata/traced/scenario.yaml")
	assert.Equal(t, 2, r.code, "%s", r.stderr)
	assert.Contains(t, r.stderr, "--otlp-endpoint")
}
