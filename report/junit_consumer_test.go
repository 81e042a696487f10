package report

import (
	"bytes"
	"testing"

	junit "github.com/joshdk/go-junit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A real consumer of JUnit files (github.com/joshdk/go-junit, the parser
// CI tools built on Go use) reads drill's report as Jenkins and GitLab
// show it: a suite per drill, the scenario as each case's classname, the
// cycle and step as its name, and the verdicts.
func TestJUnitReadByAConsumerLibrary(t *testing.T) {
	_, h := loadKnown(t, WithRuns(1))
	var out bytes.Buffer
	require.NoError(t, Write(&out, JUnit, h, Options{}))
	suites, err := junit.Ingest(out.Bytes())
	require.NoError(t, err)
	require.Len(t, suites, 5, "the newest run of each of five scenarios")

	byName := map[string]junit.Test{}
	for _, s := range suites {
		require.NotEmpty(t, s.Tests, s.Name)
		for _, tc := range s.Tests {
			assert.NotEmpty(t, tc.Classname, "%s: %s", s.Name, tc.Name)
			byName[tc.Classname+" :: "+tc.Name] = tc
		}
		assert.Equal(t, len(s.Tests), s.Totals.Tests, s.Name)
	}
	healthy, ok := byName["cache-broken :: cycle 2 / healthy"]
	require.True(t, ok, "classname per scenario, name per cycle and step")
	assert.Equal(t, junit.StatusFailed, healthy.Status)
	require.Error(t, healthy.Error)
	assert.Contains(t, healthy.Error.Error(), `<script>alert("owned")</script>`, "the message intact once parsed")
	check, ok := byName["cache-broken :: guideline / repeatable"]
	require.True(t, ok, "a case per guideline check")
	assert.Equal(t, junit.StatusFailed, check.Status)
	build, ok := byName["cache-broken :: cycle 1 / provision"]
	require.True(t, ok)
	assert.Equal(t, junit.StatusPassed, build.Status)
	assert.Positive(t, build.Duration)
}
