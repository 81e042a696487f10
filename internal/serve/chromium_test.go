package serve

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// These tests load the dashboard that drill serve serves into a real
// headless Chromium (Debian's chromium package) and look at the DOM it
// renders and at a screenshot of it.

// artifacts is where screenshots go: $DRILL_TEST_ARTIFACTS, else a
// temporary folder of the test.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("DRILL_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

var (
	chromiumPath = testtools.ChromiumPath
	chromium     = testtools.Chromium
	dumpDOM      = testtools.DumpDOM
	findAll      = testtools.FindAll
	hasClass     = testtools.HasClass
)

func attr(n *html.Node, key string) string {
	v, _ := testtools.Attr(n, key)
	return v
}

func textOf(n *html.Node) string { return strings.TrimSpace(testtools.Text(n)) }

// verdictCells maps each row of the scenario table to the text of its
// verdict cell, as the browser rendered it.
func verdictCells(doc *html.Node) map[string]results.Verdict {
	out := map[string]results.Verdict{}
	for _, td := range findAll(doc, func(n *html.Node) bool { return n.Data == "td" && hasClass(n, "verdict") }) {
		out[attr(td.Parent, "data-scenario")] = results.Verdict(textOf(td))
	}
	return out
}

func TestDashboardInChromium(t *testing.T) {
	f := newFixture(t)
	doc := dumpDOM(t, f.srv.URL+"/", 3*time.Second)

	assert.Equal(t, histgen.KnownVerdicts, verdictCells(doc), "the scenario table shows the right verdicts")

	charts := findAll(doc, func(n *html.Node) bool { return n.Data == "svg" && hasClass(n, "chart") })
	assert.Len(t, charts, 5, "one duration chart per scenario")
	for _, c := range charts {
		assert.Len(t, findAll(c, func(n *html.Node) bool { return n.Data == "polyline" && hasClass(n, "series-drill") }), 1)
		assert.NotEmpty(t, findAll(c, func(n *html.Node) bool { return n.Data == "polyline" && hasClass(n, "series-step") }))
	}
	assert.Len(t, findAll(doc, func(n *html.Node) bool { return n.Data == "svg" && hasClass(n, "timeline") }), 5)
	live := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == "live" })
	require.Len(t, live, 1)
	assert.Contains(t, textOf(live[0]), "live: checked", "the live script ran and reached /api/index")

	// The error message with markup is shown as text, never run.
	var alert bool
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Data == "script" }) {
		alert = alert || strings.Contains(textOf(n), "owned")
	}
	assert.False(t, alert, "no script from a document's text")

	shot := filepath.Join(artifacts(t), "dashboard.png")
	chromium(t, f.srv.URL+"/", 3*time.Second, "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars")
	png, err := os.ReadFile(shot)
	require.NoError(t, err)
	require.Greater(t, len(png), 20_000, "a screenshot with something on it")
	assert.Equal(t, []byte("\x89PNG"), png[:4])
	t.Logf("screenshot: %s", shot)
}

// TestDashboardReloadsWhenResultsChange finishes a new drill while
// Chromium has the dashboard open: the page must notice through
// /api/index and reload to show it.
func TestDashboardReloadsWhenResultsChange(t *testing.T) {
	chromiumPath(t)
	f := newFixture(t)
	late := histgen.Scenario{Name: "late-arrival", Owner: "sre", Runs: 1, Every: time.Hour, Newest: testNow.Add(-time.Minute), Freshness: 24 * time.Hour}
	var polls atomic.Int32
	h := New(f.store, WithClock(func() time.Time { return testNow }))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/index" && polls.Add(1) == 2 {
			// Between the first and the second poll a drill finishes.
			if err := histgen.Generate(f.store, []histgen.Scenario{late}, histgen.Options{}); err != nil {
				t.Error(err)
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	doc := dumpDOM(t, srv.URL+"/", 20*time.Second)
	assert.GreaterOrEqual(t, polls.Load(), int32(3), "the page polled, reloaded and polled again")
	verdicts := verdictCells(doc)
	assert.Equal(t, results.VerdictHolds, verdicts["late-arrival"], "the reloaded page shows the new drill")
	assert.Len(t, verdicts, 6)
}
