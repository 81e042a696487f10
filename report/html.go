package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/redeploy-drill/drill/results"
)

// The HTML report is one self-contained page: styles, the optional live
// reload script and the charts (inline SVG drawn here, on the server) are
// all inside it, so it opens from a CI artifact, a file:// URL or drill
// serve alike and never reaches the network. html/template escapes every
// value taken from the documents: scenario names, step names and error
// messages are untrusted.

//go:embed templates/report.html.tmpl
var htmlTemplateText string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":      ms,
	"pct":     func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"when":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"short":   func(s string) string { return s[:min(len(s), 12)] },
	"oneline": func(s string) string { return firstLine(s, 160) },
}).Parse(htmlTemplateText))

type htmlPage struct {
	Title     string
	Generated time.Time
	LiveURL   string
	Counts    map[string]int
	Total     int
	Scenarios []htmlScenario
}

type htmlScenario struct {
	*Scenario
	Anchor string
	// Runbook links to the scenario's runbook (Options.RunbookURL).
	Runbook     string
	LastSuccess string
	Newest      string
	Freshness   string
	Chart       *chart
	Timeline    *timeline
	Runs        []htmlRun
	Running     []htmlRunning
}

type htmlRunning struct {
	RunID   string
	Started string
	// Aborted is set when the run's drill is gone (Summary.Aborted).
	Aborted bool
}

type htmlRun struct {
	*results.Run
	Open    bool
	Holds   bool
	Failing []results.Check
	Steps   []htmlStep
}

type htmlStep struct {
	Cycle int
	results.Step
	LogHref string
}

// chart is a line chart of drill and step durations over the newest runs,
// with the budget as a dashed line, laid out here in SVG user units.
type chart struct {
	Width, Height int
	Left, Right   float64
	Top, Bottom   float64
	Series        []series
	Dots          []dot
	Budget        *hline
	YTicks        []tick
	// FirstX and LastX label the oldest and newest run's start.
	FirstX, LastX string
}

type series struct {
	Name   string
	Class  string
	Color  string
	Points string
	Width  float64
}

type dot struct {
	X, Y  float64
	Class string
	Title string
}

type hline struct {
	Y     float64
	Label string
}

type tick struct {
	Y     float64
	Label string
}

// timeline is a strip with one cell per run, coloured by outcome.
type timeline struct {
	Width, Height int
	Cells         []cell
}

type cell struct {
	X, W  float64
	Class string
	Title string
}

// palette colours step series; the drill series is drawn in ink.
var palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#bab0ac", "#ff9da7", "#e15759"}

func writeHTML(w io.Writer, h *History, opts Options) error {
	page := htmlPage{
		Title:     opts.title(),
		Generated: h.GeneratedAt,
		LiveURL:   opts.LiveURL,
		Counts:    map[string]int{},
		Total:     len(h.Scenarios),
	}
	for _, sc := range h.Scenarios {
		page.Counts[string(sc.Verdict)]++
		page.Scenarios = append(page.Scenarios, htmlScenarioOf(h, sc, opts))
	}
	return htmlTemplate.Execute(w, page)
}

func htmlScenarioOf(h *History, sc *Scenario, opts Options) htmlScenario {
	out := htmlScenario{Scenario: sc, Anchor: "scenario-" + sc.Name, LastSuccess: "never", Newest: "–"}
	if opts.RunbookURL != "" {
		out.Runbook = opts.RunbookURL + "#runbook-" + sc.Name
	}
	s := sc.Summary
	if s.LastSuccess != nil {
		out.LastSuccess = ago(h.GeneratedAt, *s.LastSuccess)
	}
	if s.Newest != nil {
		out.Newest = fmt.Sprintf("%s %s", s.Newest.Status, ago(h.GeneratedAt, s.Newest.StartedAt))
	}
	out.Freshness = ms(s.FreshnessMs)
	window := sc.Entries[max(len(sc.Entries)-opts.chartRuns(), 0):]
	if len(window) > 0 {
		out.Chart = durationChart(window, sc.BudgetMs)
		out.Timeline = outcomeTimeline(window)
	}
	for _, r := range sc.Running {
		out.Running = append(out.Running, htmlRunning{RunID: r.RunID, Started: ago(h.GeneratedAt, r.StartedAt), Aborted: slices.Contains(s.Aborted, r.RunID)})
	}
	for i := len(sc.Runs) - 1; i >= 0; i-- {
		r := sc.Runs[i]
		hr := htmlRun{Run: r, Open: i == len(sc.Runs)-1, Holds: r.Guideline != nil && r.Guideline.Holds, Failing: r.Guideline.Failing()}
		for _, c := range r.Cycles {
			for _, st := range c.Steps {
				hr.Steps = append(hr.Steps, htmlStep{Cycle: c.Index, Step: st, LogHref: logHref(opts, r, st.Log)})
			}
		}
		out.Runs = append(out.Runs, hr)
	}
	return out
}

// logHref links a step's log: through opts.LogURL, or as the path relative
// to the results folder. A path that would leave the folder is not linked.
func logHref(opts Options, r *results.Run, log string) string {
	if log == "" || !filepath.IsLocal(filepath.FromSlash(log)) || strings.Contains(log, `\`) {
		return ""
	}
	if opts.LogURL != nil {
		return opts.LogURL(r.Scenario.Name, r.RunID, log)
	}
	return (&url.URL{Path: log}).String()
}

const (
	chartWidth  = 760
	chartHeight = 240
	chartLeft   = 64.0
	chartRight  = 12.0
	chartTop    = 14.0
	chartBottom = 30.0
)

// durationChart draws the drill duration of each run and, per step name,
// the time the step took in that run (summed over its cycles).
func durationChart(window []results.HistoryEntry, budgetMs int64) *chart {
	c := &chart{
		Width: chartWidth, Height: chartHeight,
		Left: chartLeft, Right: chartWidth - chartRight,
		Top: chartTop, Bottom: chartHeight - chartBottom,
	}
	n := len(window)
	step := (c.Right - c.Left) / float64(n)
	x := func(i int) float64 { return c.Left + step*(float64(i)+0.5) }

	var top int64 = max(budgetMs, 1)
	for _, e := range window {
		top = max(top, e.DurationMs)
	}
	tickMs := tickStep(top)
	yMax := float64(tickMs * (top*105/100/tickMs + 1))
	y := func(v int64) float64 { return round1(c.Bottom - (c.Bottom-c.Top)*float64(v)/yMax) }
	for v := int64(0); float64(v) <= yMax; v += tickMs {
		c.YTicks = append(c.YTicks, tick{Y: y(v), Label: ms(v)})
	}
	if budgetMs > 0 {
		c.Budget = &hline{Y: y(budgetMs), Label: "budget " + ms(budgetMs)}
	}

	// Step series, in the order of the newest run that lists its steps.
	var names []string
	for i := n - 1; i >= 0 && names == nil; i-- {
		for _, st := range window[i].Steps {
			if !slices.Contains(names, st.Name) {
				names = append(names, st.Name)
			}
		}
	}
	for k, name := range names {
		var pts []string
		for i, e := range window {
			if len(e.Steps) == 0 {
				continue
			}
			var sum int64
			ran := false
			for _, st := range e.Steps {
				if st.Name == name && st.Status != results.StatusSkipped {
					sum += st.DurationMs
					ran = true
				}
			}
			if ran {
				pts = append(pts, point(x(i), y(sum)))
			}
		}
		if len(pts) > 0 {
			c.Series = append(c.Series, series{Name: name, Class: "series series-step", Color: palette[k%len(palette)], Points: strings.Join(pts, " "), Width: 1.5})
		}
	}
	var pts []string
	for i, e := range window {
		pts = append(pts, point(x(i), y(e.DurationMs)))
		c.Dots = append(c.Dots, dot{
			X: round1(x(i)), Y: round1(y(e.DurationMs)), Class: "dot " + outcomeClass(e),
			Title: fmt.Sprintf("%s %s %s", e.RunID, e.Status, ms(e.DurationMs)),
		})
	}
	c.Series = append(c.Series, series{Name: "drill", Class: "series series-drill", Color: "#222", Points: strings.Join(pts, " "), Width: 2.5})
	c.FirstX, c.LastX = window[0].StartedAt.UTC().Format("Jan 2 15:04"), window[n-1].StartedAt.UTC().Format("Jan 2 15:04")
	return c
}

func outcomeTimeline(window []results.HistoryEntry) *timeline {
	t := &timeline{Width: chartWidth, Height: 18}
	step := (chartWidth - chartRight - chartLeft) / float64(len(window))
	for i, e := range window {
		t.Cells = append(t.Cells, cell{
			X: round1(chartLeft + step*float64(i) + 0.5), W: round1(max(step-1, 1)),
			Class: "run " + outcomeClass(e),
			Title: fmt.Sprintf("%s: %s, guideline %s, %s", e.RunID, e.Status, holdsWord(e.Holds), ms(e.DurationMs)),
		})
	}
	return t
}

// outcomeClass names a run's outcome for styling: passed with the guideline
// holding, passed without it, failed (or timed out), or other.
func outcomeClass(e results.HistoryEntry) string {
	switch {
	case e.Succeeded():
		return "run-holds"
	case e.Status == results.StatusPassed:
		return "run-passed-not-holding"
	case e.Status == results.StatusFailed || e.Status == results.StatusTimedOut:
		return "run-failed"
	}
	return "run-other"
}

func holdsWord(b bool) string {
	if b {
		return "holds"
	}
	return "does not hold"
}

func point(x, y float64) string { return fmt.Sprintf("%.1f,%.1f", x, y) }

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// tickSteps are round durations for the value axis, in milliseconds.
var tickSteps = []int64{
	100, 200, 250, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000,
	60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000,
	3_600_000, 7_200_000, 4 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000, 24 * 3_600_000,
}

// tickStep picks the smallest round step that covers top in at most five
// ticks.
func tickStep(top int64) int64 {
	for _, s := range tickSteps {
		if top/s < 5 {
			return s
		}
	}
	last := tickSteps[len(tickSteps)-1]
	return last * (top/last/5 + 1)
}
