package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/results"
)

// golden compares got with testdata/name, rewriting the file when
// DRILL_UPDATE_GOLDEN=1.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("DRILL_UPDATE_GOLDEN") == "1" {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with DRILL_UPDATE_GOLDEN=1 to create it")
	assert.Equal(t, string(want), string(got))
}

func TestMarkdownKnownHistory(t *testing.T) {
	_, h := loadKnown(t)
	var out bytes.Buffer
	require.NoError(t, Write(&out, Markdown, h, Options{}))
	golden(t, "known-history.md", out.Bytes())
}

func TestMarkdownEscapesUntrustedText(t *testing.T) {
	r := &results.Run{
		RunID: "20261127T070000Z-000001", Status: results.StatusFailed, StartedAt: testNow, DurationMs: 1000,
		Scenario:  results.ScenarioRef{Name: "s", Owner: "a|b"},
		Guideline: &results.Guideline{Checks: []results.Check{{Name: "repeatable", Detail: "[click](https://evil.example) <img src=x onerror=alert(1)>"}}},
		Error:     &results.Error{Reason: results.ReasonStepFailed, Message: "line one | `code` **bold**\nline two"},
	}
	var out bytes.Buffer
	require.NoError(t, Write(&out, Markdown, FromRuns([]*results.Run{r}, testNow), Options{Title: "# nightly"}))
	md := out.String()
	assert.Contains(t, md, "## \\# nightly: 0 of 1 scenarios hold")
	assert.Contains(t, md, "| ❌ | s | a\\|b | broken |")
	assert.Contains(t, md, `\[click\](https://evil.example) &lt;img src=x onerror=alert(1)&gt;`)
	assert.Contains(t, md, "StepFailed: line one \\| \\`code\\` \\*\\*bold\\*\\* …")
	assert.NotContains(t, md, "line two", "only the first line of a message")
	for _, line := range strings.Split(strings.TrimSpace(md), "\n") {
		if strings.HasPrefix(line, "| ") {
			assert.Equal(t, 11, strings.Count(line, "|")-strings.Count(line, `\|`), "a row keeps its 10 cells: %s", line)
		}
	}

	var empty bytes.Buffer
	require.NoError(t, Write(&empty, Markdown, &History{}, Options{}))
	assert.Equal(t, "## drill report: 0 of 0 scenarios hold\n\nNo drill has recorded results yet.\n", empty.String())
}
