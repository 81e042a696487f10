// Package deploy_test checks the ready-made monitoring shipped in deploy/:
// the Prometheus alerting rules and the Grafana dashboard must be valid and
// use only metrics drill emits, and the alerts must fire on exactly the
// scenarios they are meant for.
package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/report"
	"github.com/redeploy-drill/drill/results"
)

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// metricNames returns the metric names an expression selects.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	e, err := parser.ParseExpr(expr)
	require.NoError(t, err, expr)
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel {
					name = m.Value
				}
			}
			names = append(names, name)
		}
		return nil
	})
	require.NotEmpty(t, names, "%s selects no metric", expr)
	return names
}

func loadRules(t *testing.T) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.ParseFile(filepath.Join("prometheus", "alerts.yaml"), false, model.UTF8Validation)
	require.Empty(t, errs, "alerts.yaml")
	require.NotEmpty(t, groups.Groups)
	return groups
}

func TestAlertRulesParseAndUseDrillMetrics(t *testing.T) {
	groups := loadRules(t)
	emitted := report.PrometheusMetrics()
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			for _, name := range metricNames(t, r.Expr) {
				assert.Contains(t, emitted, name, "alert %s uses a metric drill does not emit", r.Alert)
			}
			assert.NotEmpty(t, r.Annotations["summary"], r.Alert)
			assert.NotEmpty(t, r.Labels["severity"], r.Alert)
		}
	}
	assert.Subset(t, alerts, []string{"DrillStale", "DrillGuidelineCheckFailing", "DrillSlower"})
}

// The dashboard's queries may use its template variables; Grafana replaces
// them before Prometheus sees the query.
var grafanaVar = regexp.MustCompile(`\$\{?(scenario|owner|datasource)\}?`)

func TestGrafanaDashboardUsesDrillMetrics(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("grafana", "dashboard.json"))
	require.NoError(t, err)
	var dash struct {
		Title      string `json:"title"`
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(data, &dash), "dashboard.json is valid JSON")
	assert.NotEmpty(t, dash.Title)
	assert.NotEmpty(t, dash.UID)
	emitted := report.PrometheusMetrics()
	used := map[string]bool{}
	require.NotEmpty(t, dash.Panels)
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			expr := grafanaVar.ReplaceAllString(tg.Expr, ".*")
			for _, name := range metricNames(t, expr) {
				assert.Contains(t, emitted, name, "panel %q", p.Title)
				used[name] = true
			}
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.+), *(\w+)\)$`)
	for _, v := range dash.Templating.List {
		if v.Definition == "" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		require.NotNil(t, m, "variable %s: %s", v.Name, v.Definition)
		for _, name := range metricNames(t, grafanaVar.ReplaceAllString(m[1], ".*")) {
			assert.Contains(t, emitted, name, "variable %s", v.Name)
		}
		assert.Contains(t, []string{"scenario", "owner"}, m[2])
	}
	for _, core := range []string{report.MetricRunDuration, report.MetricStepDuration, report.MetricGuidelineCheck, report.MetricLastSuccessTimestamp, report.MetricRunBudget} {
		assert.True(t, used[core], "the dashboard shows %s", core)
	}
}

// memQueryable serves fixed samples to the PromQL engine: what Prometheus
// would have scraped from drill's metrics, at every scrape.
type memQueryable struct{ series []storage.Series }

func (q memQueryable) Querier(int64, int64) (storage.Querier, error) {
	return &storage.MockQuerier{SelectMockFunction: func(sortSeries bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
		var out []storage.Series
		for _, s := range q.series {
			ok := true
			for _, m := range ms {
				ok = ok && m.Matches(s.Labels().Get(m.Name))
			}
			if ok {
				out = append(out, s)
			}
		}
		if sortSeries {
			sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].Labels(), out[j].Labels()) < 0 })
		}
		return &seriesSet{series: out, i: -1}
	}}, nil
}

type seriesSet struct {
	series []storage.Series
	i      int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *seriesSet) At() storage.Series                { return s.series[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// fSample is a float sample.
type fSample struct {
	t int64
	f float64
}

func (s fSample) T() int64                      { return s.t }
func (s fSample) ST() int64                     { return 0 }
func (s fSample) F() float64                    { return s.f }
func (s fSample) H() *histogram.Histogram       { return nil }
func (s fSample) FH() *histogram.FloatHistogram { return nil }
func (s fSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s fSample) Copy() chunks.Sample           { return s }

// scraped turns drill's Prometheus output into series with one sample at
// each of the given times, as a scrape every so often of an unchanged
// textfile would give, with the job and instance labels scrapes add.
func scraped(t *testing.T, out []byte, at ...time.Time) memQueryable {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(out))
	require.NoError(t, err)
	var q memQueryable
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			b := labels.NewBuilder(labels.EmptyLabels())
			b.Set(model.MetricNameLabel, name)
			b.Set("job", "node")
			b.Set("instance", "ci-runner-1:9100")
			for _, l := range m.GetLabel() {
				b.Set(l.GetName(), l.GetValue())
			}
			var samples []chunks.Sample
			for _, ts := range at {
				samples = append(samples, fSample{t: ts.UnixMilli(), f: gauge(m)})
			}
			q.series = append(q.series, storage.NewListSeries(b.Labels(), samples))
		}
	}
	return q
}

func gauge(m *dto.Metric) float64 { return m.GetGauge().GetValue() }

// firing evaluates each alert's expression at ts (ignoring `for`) and
// returns, per alert, "scenario" or "scenario/check" for each series.
func firing(t *testing.T, q memQueryable, ts time.Time) map[string][]string {
	t.Helper()
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	out := map[string][]string{}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			qry, err := engine.NewInstantQuery(context.Background(), q, nil, r.Expr, ts)
			require.NoError(t, err, r.Alert)
			res := qry.Exec(context.Background())
			require.NoError(t, res.Err, r.Alert)
			vec, err := res.Vector()
			require.NoError(t, err, r.Alert)
			var got []string
			for _, s := range vec {
				id := s.Metric.Get("scenario")
				if c := s.Metric.Get("check"); c != "" {
					id += "/" + c
				}
				assert.NotEmpty(t, s.Metric.Get("owner"), "%s keeps the owner label to route on", r.Alert)
				got = append(got, id)
			}
			slices.Sort(got)
			out[r.Alert] = got
			qry.Close()
		}
	}
	return out
}

// TestAlertsFireOnKnownHistory renders the known history (plus a scenario
// that never succeeded) with drill's Prometheus renderer and evaluates the
// alert expressions with Prometheus' own engine.
func TestAlertsFireOnKnownHistory(t *testing.T) {
	store := resultstore.Open(t.TempDir())
	never := histgen.Scenario{Name: "never-ok", Owner: "data", Runs: 3, Every: time.Hour, Newest: testNow.Add(-time.Hour), Freshness: 24 * time.Hour,
		Outcome: func(int) histgen.Outcome {
			return histgen.Outcome{Status: results.StatusFailed, DurationMs: 5_000, Message: "connection refused"}
		}}
	require.NoError(t, histgen.Generate(store, append(histgen.Known(testNow), never), histgen.Options{}))
	h, _, err := report.Load(store, testNow, report.WithRuns(1))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, report.Write(&out, report.Prometheus, h, report.Options{}))

	now := scraped(t, out.Bytes(), testNow.Add(-time.Minute), testNow)
	assert.Equal(t, map[string][]string{
		"DrillStale":                 {"db-stale", "never-ok"},
		"DrillGuidelineCheckFailing": {"cache-broken/repeatable", "never-ok/repeatable", "queue-flaky/not-flaky"},
		"DrillFailed":                {"cache-broken", "never-ok"},
		"DrillSlower":                {"api-slower"},
	}, firing(t, now, testNow))

	// Two days later, with the same (frozen) export still being scraped:
	// no scenario has a recent success any more.
	later := testNow.Add(48 * time.Hour)
	frozen := scraped(t, out.Bytes(), later.Add(-time.Minute), later)
	stale := firing(t, frozen, later)["DrillStale"]
	assert.Equal(t, []string{"api-slower", "cache-broken", "db-stale", "never-ok", "queue-flaky", "web-holds"}, stale)
}
