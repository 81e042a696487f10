package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"golang.org/x/net/html"

	"github.com/redeploy-drill/drill/internal/testtools"
)

// The runbook of a scenario that has run carries each step's measured
// durations from the results folder.
func TestPlanMarkdownRunbookWithMeasuredDurations(t *testing.T) {
	repo, markers, resultsDir := notifyRepo(t), t.TempDir(), t.TempDir()
	scenario := filepath.Join(repo, "scenario.yaml")
	env := []string{"MARKER_DIR=" + markers, "DRILL_TEST_TOKEN=" + notifySecret}
	require.Equal(t, 0, drill(t, env, "run", "--results", resultsDir, scenario).code)

	r := drill(t, env, "plan", "--format", "markdown", "--results", resultsDir, scenario)
	require.Equal(t, 0, r.code, "%s", r.stderr)
	var rendered bytes.Buffer
	require.NoError(t, goldmark.New(goldmark.WithExtensions(extension.Table)).Convert([]byte(r.stdout), &rendered))
	doc, err := html.Parse(&rendered)
	require.NoError(t, err)
	var healthy []string
	for _, tr := range testtools.FindAll(doc, func(n *html.Node) bool { return n.Data == "tr" }) {
		var cells []string
		for _, td := range testtools.FindAll(tr, func(n *html.Node) bool { return n.Data == "td" }) {
			cells = append(cells, testtools.Text(td))
		}
		if len(cells) == 8 && cells[1] == "healthy" {
			healthy = cells
		}
	}
	require.NotNil(t, healthy, "the verify step's row:\n%s", r.stdout)
	assert.Equal(t, "platform", healthy[2])
	assert.NotEqual(t, "-", healthy[6], "a median measured from the run")
	assert.True(t, strings.HasSuffix(healthy[6], "s"), healthy[6])
	assert.Contains(t, r.stdout, "in the last drill")
	assert.NotContains(t, r.stdout, notifySecret)

	bad := drill(t, nil, "plan", "--format", "pdf", scenario)
	assert.Equal(t, 2, bad.code)
	assert.Contains(t, bad.stderr, `--format: "pdf" is not text, markdown or html`)
}
