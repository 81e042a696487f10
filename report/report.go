// Package report renders drill's results history: a self-contained HTML
// dashboard, JUnit XML and CTRF JSON for CI systems, the Prometheus text
// format for node_exporter's textfile collector or a Pushgateway, and a
// Markdown summary for $GITHUB_STEP_SUMMARY or a chat message.
//
// Build a History with Load (the results folder, through its history index,
// fast on long histories) or FromRuns (a given set of runs, such as the runs
// of one drill run invocation), then Write it in a Format.
//
// The documents are redacted by the runner before they are stored; the
// renderers add nothing from the environment.
package report

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// Format is an output format of Write.
type Format string

// The formats Write renders.
const (
	HTML       Format = "html"
	JUnit      Format = "junit"
	CTRF       Format = "ctrf"
	Prometheus Format = "prometheus"
	Markdown   Format = "markdown"
)

// Formats lists every Format, in the order help texts show them.
func Formats() []Format { return []Format{HTML, JUnit, CTRF, Prometheus, Markdown} }

// ErrUnknownFormat is returned by ParseFormat and Write for a format they
// do not know.
var ErrUnknownFormat = errors.New("unknown report format")

// ParseFormat returns the Format named s (case-insensitive). An unknown name
// gives an error wrapping ErrUnknownFormat that lists the known ones.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Formats(), f) {
		return f, nil
	}
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("%w %q (want one of %s)", ErrUnknownFormat, s, strings.Join(names, ", "))
}

// ContentType is the media type of f's output, for HTTP responses.
func (f Format) ContentType() string {
	switch f {
	case HTML:
		return "text/html; charset=utf-8"
	case JUnit:
		return "application/xml; charset=utf-8"
	case CTRF:
		return "application/json"
	case Prometheus:
		return "text/plain; version=0.0.4; charset=utf-8"
	case Markdown:
		return "text/markdown; charset=utf-8"
	}
	return "application/octet-stream"
}

// Extension is the usual file name extension of f's output, with its dot.
func (f Format) Extension() string {
	switch f {
	case HTML:
		return ".html"
	case JUnit:
		return ".xml"
	case CTRF:
		return ".json"
	case Prometheus:
		return ".prom"
	case Markdown:
		return ".md"
	}
	return ""
}

// History is what the renderers show: every scenario with its runs and its
// verdict, judged at GeneratedAt.
type History struct {
	GeneratedAt time.Time
	// Scenarios are sorted by name.
	Scenarios []*Scenario
}

// Scenario is one scenario's history.
type Scenario struct {
	Name  string
	Owner string
	File  string
	// Summary is results.Summarize's judgement; Verdict its one word.
	Summary results.Summary
	Verdict results.Verdict
	// BudgetMs is spec.budget as the newest run recorded it (0: none).
	BudgetMs int64
	// Entries are the finished runs, oldest first, from the history index.
	// The newest ones (as many as the charts show) are complete; older
	// ones carry only their head (see results.ScenarioHistory).
	Entries []results.HistoryEntry
	// Runs are the complete documents of the newest finished runs, oldest
	// first: the runs HTML details and JUnit and CTRF report.
	Runs []*results.Run
	// Running are the documents of runs still marked running.
	Running []*results.Run
}

// Defaults of Load.
const (
	// DefaultRuns is how many newest runs per scenario Load reads in full.
	DefaultRuns = 10
	// DefaultChartRuns is how many newest runs the charts and the timeline
	// show.
	DefaultChartRuns = 60
)

type loadConfig struct {
	runs      int
	chartRuns int
	only      []string
	summary   results.SummaryOptions
}

// LoadOption tunes Load.
type LoadOption func(*loadConfig)

// WithRuns sets how many newest finished runs per scenario are read in full
// (the run details of the HTML report, the suites of JUnit, the tests of
// CTRF). 0 reads none; the default is DefaultRuns.
func WithRuns(n int) LoadOption { return func(c *loadConfig) { c.runs = max(n, 0) } }

// WithChartRuns sets how many newest runs the charts cover (default
// DefaultChartRuns).
func WithChartRuns(n int) LoadOption {
	return func(c *loadConfig) {
		if n > 0 {
			c.chartRuns = n
		}
	}
}

// WithScenarios limits the history to the named scenarios. A named
// scenario without results appears with the never-run verdict.
func WithScenarios(names ...string) LoadOption {
	return func(c *loadConfig) { c.only = append(c.only, names...) }
}

// WithSummaryOptions sets how scenarios are judged (recent window,
// default freshness, slower factor).
func WithSummaryOptions(o results.SummaryOptions) LoadOption {
	return func(c *loadConfig) { c.summary = o }
}

// Load reads the history of every scenario in store (through its history
// index: the cost grows with the number of runs shown, not with the size of
// the history) and judges it at now. Damaged documents are skipped and
// returned as warnings.
func Load(store *resultstore.Store, now time.Time, opts ...LoadOption) (*History, []results.Warning, error) {
	cfg := loadConfig{runs: DefaultRuns, chartRuns: DefaultChartRuns}
	for _, o := range opts {
		o(&cfg)
	}
	recent := cfg.summary.Recent
	if recent <= 0 {
		recent = results.DefaultRecent
	}
	detail := max(recent, cfg.chartRuns, cfg.runs)

	var (
		hs    []*results.ScenarioHistory
		warns []results.Warning
		err   error
	)
	if len(cfg.only) == 0 {
		hs, warns, err = store.Histories(resultstore.HistoryOptions{Detail: detail})
		if err != nil {
			return nil, warns, fmt.Errorf("load history: %w", err)
		}
	} else {
		for _, name := range cfg.only {
			h, w, err := store.History(name, resultstore.HistoryOptions{Detail: detail})
			warns = append(warns, w...)
			if err != nil {
				return nil, warns, fmt.Errorf("load history: %w", err)
			}
			hs = append(hs, h)
		}
	}

	hist := &History{GeneratedAt: now.UTC()}
	for _, h := range hs {
		sc := &Scenario{
			Name:    h.Scenario,
			Owner:   h.Owner(),
			Summary: h.Summarize(now, cfg.summary),
			Entries: h.Entries,
			Running: h.Running,
		}
		sc.Verdict = sc.Summary.Verdict()
		if n := len(h.Entries); n > 0 {
			sc.File = h.Entries[n-1].File
			sc.BudgetMs = h.Entries[n-1].BudgetMs
		}
		for i := max(len(h.Entries)-cfg.runs, 0); i < len(h.Entries); i++ {
			path := store.RunPath(h.Scenario, h.Entries[i].RunID)
			r, err := results.ReadRun(path)
			if err != nil {
				warns = append(warns, results.Warning{Path: path, Err: err})
				continue
			}
			sc.Runs = append(sc.Runs, r)
		}
		hist.Scenarios = append(hist.Scenarios, sc)
	}
	slices.SortFunc(hist.Scenarios, func(a, b *Scenario) int { return cmp.Compare(a.Name, b.Name) })
	return hist, warns, nil
}

// FromRuns builds the History of exactly runs (any order, nil ignored),
// judged at now: the report of one drill run invocation. Every finished run
// is a detailed run; the summary covers only these runs.
func FromRuns(runs []*results.Run, now time.Time) *History {
	by := map[string][]*results.Run{}
	for _, r := range runs {
		if r != nil {
			by[r.Scenario.Name] = append(by[r.Scenario.Name], r)
		}
	}
	hist := &History{GeneratedAt: now.UTC()}
	for name, rs := range by {
		slices.SortStableFunc(rs, func(a, b *results.Run) int {
			if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
				return c
			}
			return cmp.Compare(a.RunID, b.RunID)
		})
		sc := &Scenario{Name: name, Summary: results.Summarize(rs, now, results.SummaryOptions{})}
		sc.Verdict = sc.Summary.Verdict()
		for _, r := range rs {
			if r.Scenario.Owner != "" {
				sc.Owner = r.Scenario.Owner
			}
			if r.Scenario.File != "" {
				sc.File = r.Scenario.File
			}
			if r.BudgetMs > 0 {
				sc.BudgetMs = r.BudgetMs
			}
			if !r.Status.Finished() {
				sc.Running = append(sc.Running, r)
				continue
			}
			sc.Entries = append(sc.Entries, results.EntryOf(r))
			sc.Runs = append(sc.Runs, r)
		}
		hist.Scenarios = append(hist.Scenarios, sc)
	}
	slices.SortFunc(hist.Scenarios, func(a, b *Scenario) int { return cmp.Compare(a.Name, b.Name) })
	return hist
}

// Options tunes Write.
type Options struct {
	// Title heads the HTML and Markdown reports (default "drill report").
	Title string
	// LogURL maps a step's log (a path relative to the results folder, as
	// documents store it) to the link the HTML report shows. nil links the
	// path itself, right for a report saved at the root of the results
	// folder.
	LogURL func(scenario, runID, log string) string
	// LiveURL, when set, makes the HTML page poll that URL (a DrillIndex,
	// such as drill serve's /api/index) and reload itself when the results
	// change.
	LiveURL string
	// ChartRuns is how many newest runs the charts show (default
	// DefaultChartRuns).
	ChartRuns int
	// RunbookURL, when set, is the page drill plan --format html wrote
	// (one section per scenario, #runbook-NAME): each scenario links to its
	// runbook there.
	RunbookURL string
}

func (o Options) title() string {
	if o.Title == "" {
		return "drill report"
	}
	return o.Title
}

func (o Options) chartRuns() int {
	if o.ChartRuns <= 0 {
		return DefaultChartRuns
	}
	return o.ChartRuns
}

// Write renders h in format f to w.
func Write(w io.Writer, f Format, h *History, opts Options) error {
	if h == nil {
		h = &History{}
	}
	var err error
	switch f {
	case HTML:
		err = writeHTML(w, h, opts)
	case JUnit:
		err = writeJUnit(w, h)
	case CTRF:
		err = writeCTRF(w, h)
	case Prometheus:
		err = writePrometheus(w, h)
	case Markdown:
		err = writeMarkdown(w, h, opts)
	default:
		_, err = ParseFormat(string(f))
		return err
	}
	if err != nil {
		return fmt.Errorf("write %s report: %w", f, err)
	}
	return nil
}

// FormatMs formats milliseconds as the reports do: 850ms, 58.3s, 2m5s,
// 24h (the runbook's durations too).
func FormatMs(v int64) string { return ms(v) }

// ms formats milliseconds as a short duration: 850ms, 58.3s, 2m5s, 24h.
func ms(v int64) string {
	d := time.Duration(v) * time.Millisecond
	switch {
	case v == 0:
		return "0s"
	case v < 0:
		return "-" + ms(-v)
	case d < time.Second:
		return d.String()
	case d < time.Minute:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", d.Seconds()), ".0") + "s"
	case d < time.Hour:
		m, s := int(d/time.Minute), int((d%time.Minute+time.Second/2)/time.Second)
		if s == 60 {
			m, s = m+1, 0
		}
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, s)
	}
	h, m := int(d/time.Hour), int((d%time.Hour+time.Minute/2)/time.Minute)
	if m == 60 {
		h, m = h+1, 0
	}
	if m == 0 {
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

// ago formats how long before now t was, coarsely: 3h ago.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// firstLine keeps the first line of s, cut to n runes, for table cells.
func firstLine(s string, n int) string {
	s, _, cut := strings.Cut(strings.TrimSpace(s), "\n")
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	if cut {
		return s + " …"
	}
	return s
}

// WriteFile writes the rendering of h to path atomically: into a hidden
// temporary file in the same folder, then renamed over path, so that
// node_exporter's textfile collector, a CI artifact upload or a browser
// never reads half a report.
func WriteFile(path string, f Format, h *History, opts Options) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriter(tmp)
	if err = Write(bw, f, h, opts); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
