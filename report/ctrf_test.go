package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/results"
)

func ctrfSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "ctrf.schema.json"))
	require.NoError(t, err)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://drill.local/testdata/ctrf.schema.json"
	require.NoError(t, c.AddResource(url, doc))
	sch, err := c.Compile(url)
	require.NoError(t, err)
	return sch
}

func validateCTRF(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	require.NoError(t, err)
	return sch.Validate(v)
}

func TestCTRFSchemaRejectsInvalid(t *testing.T) {
	sch := ctrfSchema(t)
	valid := `{"reportFormat":"CTRF","specVersion":"0.0.0","results":{"tool":{"name":"drill"},"summary":{"tests":1,"passed":1,"failed":0,"skipped":0,"pending":0,"other":0,"start":1,"stop":2},"tests":[{"name":"a","status":"passed","duration":1}]}}`
	require.NoError(t, validateCTRF(t, sch, []byte(valid)))
	for name, doc := range map[string]string{
		"wrong format":          `{"reportFormat":"JUNIT","specVersion":"0.0.0","results":{"tool":{"name":"drill"},"summary":{"tests":0,"passed":0,"failed":0,"skipped":0,"pending":0,"other":0,"start":1,"stop":2},"tests":[]}}`,
		"unknown status":        `{"reportFormat":"CTRF","specVersion":"0.0.0","results":{"tool":{"name":"drill"},"summary":{"tests":1,"passed":1,"failed":0,"skipped":0,"pending":0,"other":0,"start":1,"stop":2},"tests":[{"name":"a","status":"timedOut","duration":1}]}}`,
		"float duration":        `{"reportFormat":"CTRF","specVersion":"0.0.0","results":{"tool":{"name":"drill"},"summary":{"tests":1,"passed":1,"failed":0,"skipped":0,"pending":0,"other":0,"start":1,"stop":2},"tests":[{"name":"a","status":"passed","duration":1.5}]}}`,
		"field outside extra":   `{"reportFormat":"CTRF","specVersion":"0.0.0","results":{"tool":{"name":"drill"},"summary":{"tests":1,"passed":1,"failed":0,"skipped":0,"pending":0,"other":0,"start":1,"stop":2},"tests":[{"name":"a","status":"passed","duration":1,"phase":"deploy"}]}}`,
		"missing summary count": `{"reportFormat":"CTRF","specVersion":"0.0.0","results":{"tool":{"name":"drill"},"summary":{"tests":1,"passed":1,"failed":0,"skipped":0,"other":0,"start":1,"stop":2},"tests":[]}}`,
	} {
		assert.Error(t, validateCTRF(t, sch, []byte(doc)), name)
	}
}

func TestCTRFKnownHistory(t *testing.T) {
	sch := ctrfSchema(t)
	_, h := loadKnown(t, WithRuns(1))
	var out bytes.Buffer
	require.NoError(t, Write(&out, CTRF, h, Options{}))
	require.NoError(t, validateCTRF(t, sch, out.Bytes()))

	var rep ctrfReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	assert.Equal(t, "CTRF", rep.ReportFormat)
	assert.Equal(t, "0.0.0", rep.SpecVersion)
	assert.Equal(t, "drill", rep.Results.Tool.Name)
	assert.Equal(t, "v0.1.0", rep.Results.Tool.Version)
	sum := rep.Results.Summary
	assert.Equal(t, 5, sum.Suites)
	assert.Equal(t, 5*(12+8), sum.Tests)
	assert.Equal(t, sum.Tests, sum.Passed+sum.Failed+sum.Skipped+sum.Pending+sum.Other)
	assert.Equal(t, 1+1+1, sum.Failed, "cache-broken's step and check, queue-flaky's check")
	assert.Equal(t, 2, sum.Flaky, "queue-flaky's build, in both cycles")
	assert.Equal(t, sum.Stop-sum.Start, sum.Duration)

	var build *ctrfTest
	for i, tc := range rep.Results.Tests {
		if tc.Name == "queue-flaky / cycle 2 / build" {
			build = &rep.Results.Tests[i]
		}
	}
	require.NotNil(t, build)
	assert.Equal(t, "passed", build.Status)
	assert.True(t, build.Flaky)
	assert.Equal(t, 1, build.Retries)
	assert.Equal(t, int64(7500), build.Duration, "30% of a 25 s cycle")
	assert.Equal(t, []string{"queue-flaky", build.Extra.RunID, "cycle 2"}, build.Suite)
	assert.Equal(t, ctrfStepX{
		Scenario: "queue-flaky", Owner: "platform", RunID: build.Extra.RunID, Cycle: 2, Step: "build", Phase: results.PhaseDeploy,
		Kind: "run", Attempts: 2, DurationMs: 7500, TimeoutMs: 600_000, Log: build.Extra.Log,
	}, build.Extra)
	assert.Equal(t, build.Stop-build.Start, build.Duration)

	verdicts := map[string]results.Verdict{}
	for _, s := range rep.Results.Extra.Scenarios {
		verdicts[s.Name] = s.Verdict
	}
	assert.Equal(t, histgen.KnownVerdicts, verdicts)
}

func TestCTRFStatuses(t *testing.T) {
	sch := ctrfSchema(t)
	r := histgen.Run(histgen.Scenario{Name: "s", Runs: 1, Newest: testNow, Cycles: 1}, 0)
	st := r.Cycles[0].Steps
	st[0].Status = results.StatusTimedOut
	st[0].Error = &results.Error{Reason: results.ReasonTimeout, Message: "timed out", OutputTail: "tail"}
	st[1].Status, st[2].Status, st[3].Status = results.StatusCanceled, results.StatusSkipped, results.StatusRunning
	var out bytes.Buffer
	require.NoError(t, Write(&out, CTRF, FromRuns([]*results.Run{r}, testNow), Options{}))
	require.NoError(t, validateCTRF(t, sch, out.Bytes()))
	var rep ctrfReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	tests := rep.Results.Tests
	assert.Equal(t, []string{"failed", "other", "skipped", "other"}, []string{tests[0].Status, tests[1].Status, tests[2].Status, tests[3].Status})
	assert.Equal(t, []string{"timedOut", "canceled", "skipped", "running"}, []string{tests[0].RawStatus, tests[1].RawStatus, tests[2].RawStatus, tests[3].RawStatus})
	assert.Equal(t, "timed out", tests[0].Message)
	assert.Equal(t, "tail", tests[0].Trace)
	assert.Equal(t, "Timeout", tests[0].Extra.Reason)

	var empty bytes.Buffer
	require.NoError(t, Write(&empty, CTRF, &History{GeneratedAt: testNow}, Options{}))
	require.NoError(t, validateCTRF(t, sch, empty.Bytes()))
}
