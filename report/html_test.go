package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// node helpers over golang.org/x/net/html: the page is checked as a
// browser's parser sees it, not as text.

var (
	attr     = testtools.Attr
	hasClass = testtools.HasClass
	findAll  = testtools.FindAll
	text     = testtools.Text
)

func tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

func renderHTML(t *testing.T, h *History, opts Options) (string, *html.Node) {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, Write(&out, HTML, h, opts))
	doc, err := html.Parse(bytes.NewReader(out.Bytes()))
	require.NoError(t, err)
	return out.String(), doc
}

func TestHTMLKnownHistory(t *testing.T) {
	s, h := loadKnown(t)
	page, doc := renderHTML(t, h, Options{ChartRuns: 12})

	verdicts := map[string]results.Verdict{}
	for _, td := range findAll(doc, func(n *html.Node) bool { return hasClass(n, "verdict") && n.Data == "td" }) {
		v, _ := attr(td, "data-verdict")
		assert.Equal(t, v, strings.TrimSpace(text(td)))
		name, _ := attr(td.Parent, "data-scenario")
		verdicts[name] = results.Verdict(v)
	}
	assert.Equal(t, histgen.KnownVerdicts, verdicts)

	trend := findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "data-slower"); return v == "true" })
	require.Len(t, trend, 1)
	row, _ := attr(trend[0].Parent, "data-scenario")
	assert.Equal(t, "api-slower", row)

	for _, sec := range findAll(doc, func(n *html.Node) bool { return n.Data == "section" && hasClass(n, "scenario") }) {
		name, _ := attr(sec, "data-scenario")
		sc := scenario(t, h, name)
		charts := findAll(sec, func(n *html.Node) bool { return n.Data == "svg" && hasClass(n, "chart") })
		require.Len(t, charts, 1, name)
		drill := findAll(charts[0], func(n *html.Node) bool { return hasClass(n, "series-drill") })
		require.Len(t, drill, 1, name)
		points, _ := attr(drill[0], "points")
		shown := min(len(sc.Entries), 12)
		assert.Len(t, strings.Fields(points), shown, "%s: one point per run on the chart", name)
		steps := findAll(charts[0], func(n *html.Node) bool { return hasClass(n, "series-step") })
		assert.Len(t, steps, 6, "%s: one line per step", name)
		budget := findAll(charts[0], func(n *html.Node) bool { return n.Data == "line" && hasClass(n, "budget") })
		assert.Equal(t, sc.BudgetMs > 0, len(budget) == 1, name)
		cells := findAll(sec, func(n *html.Node) bool { return n.Data == "rect" && hasClass(n, "run") })
		assert.Len(t, cells, shown, name)
		runs := findAll(sec, func(n *html.Node) bool { return n.Data == "details" })
		assert.Len(t, runs, len(sc.Runs), name)
	}

	// The failing run of cache-broken: its error is text, not markup.
	assert.Empty(t, findAll(doc, tag("script")), "a static report has no script at all")
	assert.NotContains(t, page, `<script>alert`)
	errs := findAll(doc, func(n *html.Node) bool { return hasClass(n, "err") })
	require.NotEmpty(t, errs)
	assert.Contains(t, text(errs[0]), `<script>alert("owned")</script>`)

	// Self-contained: nothing is fetched from anywhere.
	for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
		for _, key := range []string{"src", "srcset"} {
			_, ok := attr(n, key)
			assert.False(t, ok, "<%s %s>", n.Data, key)
		}
		if n.Data == "link" {
			assert.Fail(t, "no <link> elements")
		}
	}
	assert.NotContains(t, page, "@import")
	assert.NotContains(t, page, "url(")

	// Log links are relative to the results folder and point at the logs.
	links := findAll(doc, func(n *html.Node) bool { return n.Data == "a" && hasClass(n, "log") })
	require.NotEmpty(t, links)
	for _, a := range links[:12] { // the newest run of the first scenario
		href, _ := attr(a, "href")
		assert.False(t, filepath.IsAbs(href), href)
		_, err := os.Stat(filepath.Join(s.Dir, filepath.FromSlash(href)))
		assert.NoError(t, err, "log %s exists next to a report saved at the results folder's root", href)
	}
}

func TestHTMLOptions(t *testing.T) {
	_, h := loadKnown(t, WithRuns(1), WithScenarios("web-holds"))
	page, doc := renderHTML(t, h, Options{
		Title:   `Drills of <team>`,
		LiveURL: `/api/index?x="1"`,
		LogURL:  func(sc, id, log string) string { return "/logs/" + sc + "/" + id + "/" + filepath.Base(log) },
	})
	titles := findAll(doc, tag("title"))
	require.NotEmpty(t, titles)
	assert.Equal(t, "Drills of <team>", text(titles[0]))
	scripts := findAll(doc, tag("script"))
	require.Len(t, scripts, 1, "the live reload script")
	assert.Contains(t, text(scripts[0]), `var url = "/api/index?x=\"1\""`, "the URL is a JS string literal")
	assert.Contains(t, page, `href="/logs/web-holds/`)
	assert.Contains(t, page, `id="live"`)
	assert.Empty(t, findAll(doc, func(n *html.Node) bool { return n.Data == "a" && hasClass(n, "runbook") }), "no runbook link unless asked")

	_, doc = renderHTML(t, h, Options{RunbookURL: "runbook.html"})
	links := findAll(doc, func(n *html.Node) bool { return n.Data == "a" && hasClass(n, "runbook") })
	require.Len(t, links, 1)
	href, _ := attr(links[0], "href")
	assert.Equal(t, "runbook.html#runbook-web-holds", href, "the scenario's section of drill plan --format html")
}

func TestHTMLEmptyAndUnsafeLogs(t *testing.T) {
	page, _ := renderHTML(t, &History{}, Options{})
	assert.Contains(t, page, "No drill has recorded results yet.")

	r := histgen.Run(histgen.Scenario{Name: "s", Runs: 1, Newest: testNow, Cycles: 1}, 0)
	r.Cycles[0].Steps[0].Log = "../../etc/passwd"
	r.Cycles[0].Steps[1].Log = "/etc/passwd"
	r.Cycles[0].Steps[2].Log = `s\..\x.log`
	_, doc := renderHTML(t, FromRuns([]*results.Run{r}, testNow), Options{})
	links := findAll(doc, func(n *html.Node) bool { return n.Data == "a" && hasClass(n, "log") })
	assert.Len(t, links, 3, "only the three logs inside the results folder are linked")
}

// TestAbortedRun checks that a run whose drill died shows as aborted, with
// the way out, in the HTML page and the Markdown summary, and that a run
// under way does not. Which drill is gone is the predicate's call
// (SummaryOptions.Alive); here a fake one.
func TestAbortedRun(t *testing.T) {
	s := knownStore(t)
	const deadPid = 4242
	dead, err := histgen.WriteRunning(s, "web-holds", "platform", testNow.Add(-time.Minute), deadPid, "ci-runner-1")
	require.NoError(t, err)
	live, err := histgen.WriteRunning(s, "db-stale", "data", testNow.Add(-time.Minute), 1, "ci-runner-1")
	require.NoError(t, err)
	alive := func(r *results.Run) bool { return r.Pid != deadPid }
	h, warns, err := Load(s, testNow, WithSummaryOptions(results.SummaryOptions{Alive: alive}))
	require.NoError(t, err)
	require.Empty(t, warns)

	assert.Equal(t, results.VerdictAborted, scenario(t, h, "web-holds").Verdict)
	assert.Equal(t, []string{dead.RunID}, scenario(t, h, "web-holds").Summary.Aborted)
	assert.Equal(t, results.VerdictStale, scenario(t, h, "db-stale").Verdict, "a run under way keeps the verdict")

	page, doc := renderHTML(t, h, Options{})
	cells := findAll(doc, func(n *html.Node) bool { return hasClass(n, "verdict") && n.Data == "td" })
	got := map[string]string{}
	for _, td := range cells {
		name, _ := attr(td.Parent, "data-scenario")
		got[name] = strings.TrimSpace(text(td))
	}
	assert.Equal(t, "aborted", got["web-holds"])
	runs := map[string]*html.Node{}
	for _, p := range findAll(doc, func(n *html.Node) bool { return n.Data == "p" && hasClass(n, "running") }) {
		id, _ := attr(p, "data-run")
		runs[id] = p
	}
	require.Contains(t, runs, dead.RunID)
	require.Contains(t, runs, live.RunID)
	assert.True(t, hasClass(runs[dead.RunID], "aborted"))
	assert.Contains(t, text(runs[dead.RunID]), "aborted")
	assert.Contains(t, text(runs[dead.RunID]), "drill gc")
	assert.False(t, hasClass(runs[live.RunID], "aborted"))
	assert.Contains(t, text(runs[live.RunID]), "running")
	assert.NotContains(t, text(runs[live.RunID]), "drill gc")
	assert.Contains(t, page, "1 aborted")

	var md bytes.Buffer
	require.NoError(t, Write(&md, Markdown, h, Options{}))
	assert.Contains(t, md.String(), "| aborted |")
	assert.Contains(t, md.String(), "**web-holds**: the drill of run "+dead.RunID+" died before the run finished: run `drill gc`")
	assert.NotContains(t, md.String(), live.RunID)
}
