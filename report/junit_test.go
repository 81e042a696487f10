package report

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// xmllintSchema validates doc against testdata/junit-10.xsd with libxml2's
// xmllint (Debian package libxml2-utils).
func xmllintSchema(t *testing.T, doc []byte) error {
	t.Helper()
	bin := testtools.Need(t, "xmllint", "apt-get install libxml2-utils")
	path := filepath.Join(t.TempDir(), "junit.xml")
	require.NoError(t, os.WriteFile(path, doc, 0o644))
	out, err := exec.Command(bin, "--noout", "--schema", filepath.Join("testdata", "junit-10.xsd"), path).CombinedOutput()
	if err != nil {
		return &xmllintError{out: string(out)}
	}
	return nil
}

type xmllintError struct{ out string }

func (e *xmllintError) Error() string { return "xmllint: " + e.out }

func TestJUnitSchemaRejectsInvalid(t *testing.T) {
	// The schema check must be able to fail: documents a CI system would
	// refuse are refused.
	for name, doc := range map[string]string{
		"no name":        `<testsuites><testsuite tests="1"><testcase name="a"/></testsuite></testsuites>`,
		"unit in time":   `<testsuites><testsuite name="s" tests="1"><testcase name="a" time="1.5s"/></testsuite></testsuites>`,
		"unknown child":  `<testsuites><testsuite name="s" tests="1"><testcase name="a"><oops/></testcase></testsuite></testsuites>`,
		"skipped twice":  `<testsuites><testsuite name="s" tests="1"><testcase name="a"><skipped/><skipped/></testcase></testsuite></testsuites>`,
		"negative count": `<testsuites><testsuite name="s" tests="-1"/></testsuites>`,
	} {
		err := xmllintSchema(t, []byte(doc))
		assert.Error(t, err, name)
	}
	assert.NoError(t, xmllintSchema(t, []byte(`<testsuites><testsuite name="s" tests="1"><testcase name="a" time="1.234"/></testsuite></testsuites>`)))
}

func TestJUnitKnownHistory(t *testing.T) {
	_, h := loadKnown(t, WithRuns(2))
	var out bytes.Buffer
	require.NoError(t, Write(&out, JUnit, h, Options{}))
	require.NoError(t, xmllintSchema(t, out.Bytes()))

	var doc junitSuites
	require.NoError(t, xml.Unmarshal(out.Bytes(), &doc))
	require.Len(t, doc.Suites, 10, "two runs of five scenarios")
	total := 0
	for _, s := range doc.Suites {
		total += s.Tests
		assert.Equal(t, 12+8, s.Tests, "2 cycles × 6 steps + 8 checks: %s", s.Name)
	}
	assert.Equal(t, total, doc.Tests)

	broken := doc.Suites[3] // cache-broken's newest
	assert.Equal(t, "cache-broken "+scenario(t, h, "cache-broken").Runs[1].RunID, broken.Name)
	var failed *junitTestcase
	for i, c := range broken.Cases {
		if c.Failure != nil && strings.HasPrefix(c.Name, "cycle") {
			failed = &broken.Cases[i]
		}
	}
	require.NotNil(t, failed)
	assert.Equal(t, "cycle 2 / healthy", failed.Name)
	assert.Equal(t, "cache-broken", failed.Classname)
	assert.Equal(t, "StepFailed", failed.Failure.Type)
	assert.Contains(t, failed.Failure.Message, `<script>alert("owned")</script>`, "escaped in the XML, intact once parsed")
	assert.Contains(t, failed.Failure.Text, "+ ./scripts/healthy.sh")
	assert.Equal(t, 0, broken.Skipped, "healthy is the last deploy/verify step; teardown and destroy still ran")
	assert.Equal(t, 2, broken.Failures, "the step and the repeatable check")
	assert.Equal(t, "20.000", broken.Time)
}

func TestJUnitStatuses(t *testing.T) {
	r := histgen.Run(histgen.Scenario{Name: "s", Runs: 1, Newest: testNow, Cycles: 1}, 0)
	steps := r.Cycles[0].Steps
	steps[0].Status, steps[0].DurationMs = results.StatusTimedOut, 1234
	steps[0].Error = &results.Error{Reason: results.ReasonTimeout, Message: "step provision timed out after 1s", OutputTail: "waiting\x1b[0m\x00"}
	steps[1].Status = results.StatusCanceled
	steps[2].Status = results.StatusSkipped
	steps[3].Status = results.StatusRunning
	r.Guideline.Checks[0].OK, r.Guideline.Checks[0].Detail = false, "step start is manual"
	noSteps := &results.Run{RunID: "20261127T000000Z-00000a", Scenario: results.ScenarioRef{Name: "t"}, Status: results.StatusFailed,
		StartedAt: testNow, Error: &results.Error{Reason: results.ReasonToolMissing, Message: "terraform not found"}}

	var out bytes.Buffer
	require.NoError(t, Write(&out, JUnit, FromRuns([]*results.Run{r, noSteps}, testNow), Options{}))
	require.NoError(t, xmllintSchema(t, out.Bytes()), "control characters from step output are replaced")
	var doc junitSuites
	require.NoError(t, xml.Unmarshal(out.Bytes(), &doc))
	require.Len(t, doc.Suites, 2)
	s := doc.Suites[0]
	c := s.Cases
	assert.Equal(t, "1.234", c[0].Time)
	require.NotNil(t, c[0].Failure)
	assert.Equal(t, "Timeout", c[0].Failure.Type)
	require.NotNil(t, c[1].Error, "canceled is an error, not a failure")
	require.NotNil(t, c[2].Skipped)
	require.NotNil(t, c[3].Skipped)
	assert.Equal(t, "still running", c[3].Skipped.Message)
	assert.Nil(t, c[4].Failure)
	assert.Equal(t, 1, s.Errors)
	assert.Equal(t, 2, s.Skipped)
	assert.Equal(t, 2, s.Failures, "the timed-out step and the automated check")
	assert.Equal(t, "guideline / automated", c[6].Name)

	tool := doc.Suites[1]
	require.Len(t, tool.Cases, 1, "a drill that never reached a step still fails")
	require.NotNil(t, tool.Cases[0].Failure)
	assert.Equal(t, "ToolMissing", tool.Cases[0].Failure.Type)
	assert.Equal(t, 3, doc.Failures)
}
