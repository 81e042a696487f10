package runbook_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"golang.org/x/net/html"

	"github.com/redeploy-drill/drill/internal/runbook"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/scenarios"
)

// A scenario with two owners, a manual step, a script of several lines
// with a pipe, backticks and markup characters in it, and a teardown step.
const scenario = `apiVersion: drill/v1
kind: Scenario
metadata:
  name: shop
  owner: platform
  description: Rebuild the *shop* from nothing.
spec:
  cycles: 2
  budget: 20m
  target: {none: {}}
  steps:
    - name: build
      timeout: 5m
      retries: 2
      run: |
        make build | tee build.log
        echo "built ` + "```" + ` <done>"
    - name: dns
      owner: network-team
      manual: Point shop.example.com at the new load balancer.
    - name: healthy
      phase: verify
      owner: app-team
      run: curl -fsS http://127.0.0.1:8080/healthz
  teardown:
    - name: stop
      run: make stop
`

func build(t *testing.T, measured bool) *runbook.Runbook {
	t.Helper()
	file := filepath.Join(t.TempDir(), "shop.yaml")
	require.NoError(t, os.WriteFile(file, []byte(scenario), 0o644))
	s, err := scenarios.Load(file)
	require.NoError(t, err)
	var sum *results.Summary
	if measured {
		sum = &results.Summary{Recent: 5, Steps: []results.StepStat{
			{Name: "build", Phase: "deploy", Count: 10, MedianMs: 61_500, P95Ms: 90_000},
			{Name: "healthy", Phase: "verify", Count: 10, MedianMs: 120, P95Ms: 450},
		}}
	}
	return runbook.Build(s, 0, sum)
}

// table is a markdown table as the parser read it: header, then rows of
// cell texts.
type table [][]string

// parseMarkdown renders the markdown as a GitHub-flavoured consumer does
// (goldmark with its GFM table extension) and reads the HTML back.
func parseMarkdown(t *testing.T, src []byte) (headings []string, tables []table, code []string, items []string) {
	t.Helper()
	var rendered bytes.Buffer
	require.NoError(t, goldmark.New(goldmark.WithExtensions(extension.Table)).Convert(src, &rendered))
	doc, err := html.Parse(&rendered)
	require.NoError(t, err)
	is := func(tags ...string) func(*html.Node) bool {
		return func(n *html.Node) bool { return slices.Contains(tags, n.Data) }
	}
	for _, h := range testtools.FindAll(doc, is("h1", "h2", "h3")) {
		headings = append(headings, testtools.Text(h))
	}
	for _, tb := range testtools.FindAll(doc, is("table")) {
		var rows table
		for _, tr := range testtools.FindAll(tb, is("tr")) {
			var row []string
			for _, c := range testtools.FindAll(tr, is("th", "td")) {
				row = append(row, testtools.Text(c))
			}
			rows = append(rows, row)
		}
		tables = append(tables, rows)
	}
	for _, c := range testtools.FindAll(doc, is("pre")) {
		code = append(code, testtools.Text(c))
	}
	for _, li := range testtools.FindAll(doc, is("li")) {
		items = append(items, testtools.Text(li))
	}
	return headings, tables, code, items
}

func TestMarkdownRunbookParses(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, runbook.Markdown(&out, []*runbook.Runbook{build(t, true)}))
	headings, tables, code, items := parseMarkdown(t, out.Bytes())

	assert.Equal(t, []string{"Runbook: shop", "Who does what", "Manual steps", "Provision", "Deploy",
		"Idempotency check", "Verify", "Teardown (always runs, even after a failure or an interrupt)"}, headings)
	require.Len(t, tables, 6, "facts, owners, and one per phase with steps")
	facts := map[string]string{}
	for _, r := range tables[0][1:] {
		facts[r[0]] = r[1]
	}
	assert.Equal(t, "platform", facts["Owner"])
	assert.Equal(t, "20m0s for the whole run (measured, not enforced)", facts["Budget"])
	assert.Equal(t, "median and p95 of each step's passed executions in the last 5 drills", facts["Measured"])

	owners := map[string]string{}
	for _, r := range tables[1][1:] {
		owners[r[0]] = r[1]
	}
	assert.Equal(t, map[string]string{
		"platform":     "1. workdir, 2. provision, 3. build, 6. stop, 7. destroy",
		"network-team": "4. dns",
		"app-team":     "5. healthy",
	}, owners, "who does what: a step without an owner is the scenario's")

	deploy := tables[3]
	assert.Equal(t, []string{"#", "Step", "Owner", "Runs", "Timeout", "Retries", "Median", "p95"}, deploy[0])
	require.Len(t, deploy, 3)
	assert.Equal(t, []string{"3", "build", "platform", "run: make build | tee build.log …", "5m0s", "2", "1m2s", "1m30s"}, deploy[1],
		"the pipe stays inside its cell")
	assert.Equal(t, "4", deploy[2][0])
	assert.Equal(t, "dns", deploy[2][1])
	assert.Contains(t, deploy[2][3], "manual: needs an operator")
	verify := tables[4]
	assert.Equal(t, []string{"5", "healthy", "app-team", "run: curl -fsS http://127.0.0.1:8080/healthz", "10m0s", "0", "120ms", "450ms"}, verify[1])

	require.Len(t, code, 1, "the script of several lines, whole")
	assert.Equal(t, "make build | tee build.log\necho \"built ``` <done>\"\n", code[0])
	require.Len(t, items, 1)
	assert.Equal(t, "4. dns (network-team): Point shop.example.com at the new load balancer.", items[0])
}

func TestMarkdownWithoutResults(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, runbook.Markdown(&out, []*runbook.Runbook{build(t, false)}))
	_, tables, _, _ := parseMarkdown(t, out.Bytes())
	assert.Equal(t, "no drill of it has finished in the results folder yet", tables[0][len(tables[0])-1][1])
	assert.Equal(t, []string{"-", "-"}, tables[3][1][6:], "no measured durations")
}

func TestHTMLRunbookInChromium(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, runbook.HTML(&out, []*runbook.Runbook{build(t, true)}, "test"))
	assert.NotContains(t, out.String(), "<script", "self-contained and inert")
	page := filepath.Join(t.TempDir(), "runbook.html")
	require.NoError(t, os.WriteFile(page, out.Bytes(), 0o644))
	doc := testtools.DumpDOM(t, "file://"+page, time.Second)

	sections := testtools.FindAll(doc, func(n *html.Node) bool { return n.Data == "section" && testtools.HasClass(n, "runbook") })
	require.Len(t, sections, 1)
	id, _ := testtools.Attr(sections[0], "id")
	assert.Equal(t, "runbook-shop", id)

	rows := map[string]*html.Node{}
	for _, tr := range testtools.FindAll(doc, func(n *html.Node) bool { return n.Data == "tr" }) {
		if step, ok := testtools.Attr(tr, "data-step"); ok {
			rows[step] = tr
		}
	}
	require.Contains(t, rows, "build")
	cell := func(step, class string) string {
		tds := testtools.FindAll(rows[step], func(n *html.Node) bool { return n.Data == "td" && testtools.HasClass(n, class) })
		require.Len(t, tds, 1, "%s %s", step, class)
		return strings.TrimSpace(testtools.Text(tds[0]))
	}
	assert.Equal(t, "1m2s", cell("build", "median"))
	assert.Equal(t, "1m30s", cell("build", "p95"))
	assert.Equal(t, "-", cell("destroy", "median"))
	assert.True(t, testtools.HasClass(rows["dns"], "manual"), "the manual step stands out")
	pres := testtools.FindAll(rows["build"], func(n *html.Node) bool { return n.Data == "pre" })
	require.Len(t, pres, 1)
	assert.Equal(t, "make build | tee build.log\necho \"built ``` <done>\"", testtools.Text(pres[0]), "the script, escaped, whole")

	owners := testtools.FindAll(doc, func(n *html.Node) bool { _, ok := testtools.Attr(n, "data-owner"); return ok })
	var names []string
	for _, o := range owners {
		v, _ := testtools.Attr(o, "data-owner")
		names = append(names, v)
	}
	assert.Equal(t, []string{"platform", "network-team", "app-team"}, names)
	manual := testtools.FindAll(doc, func(n *html.Node) bool { return n.Data == "li" })
	require.Len(t, manual, 1)
	assert.Contains(t, testtools.Text(manual[0]), "Point shop.example.com at the new load balancer.")
}
