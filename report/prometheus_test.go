package report

import (
	"bytes"
	"math"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/results"
)

// parseProm parses out with Prometheus' own text parser, so the output is
// what node_exporter's textfile collector and a Pushgateway accept.
func parseProm(t *testing.T, out []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(out))
	require.NoError(t, err, "output:\n%s", out)
	return fams
}

// value returns the gauge of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	fam, ok := fams[name]
	require.True(t, ok, "family %s", name)
	assert.Equal(t, dto.MetricType_GAUGE, fam.GetType(), name)
	assert.NotEmpty(t, fam.GetHelp(), name)
	var found []float64
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		assert.Nil(t, m.TimestampMs, "no timestamps: the textfile collector refuses them")
		if match {
			found = append(found, m.GetGauge().GetValue())
		}
	}
	require.Len(t, found, 1, "%s%v", name, want)
	return found[0]
}

func TestPrometheusKnownAnswers(t *testing.T) {
	_, h := loadKnown(t)
	var out bytes.Buffer
	require.NoError(t, Write(&out, Prometheus, h, Options{}))
	fams := parseProm(t, out.Bytes())

	for _, name := range PrometheusMetrics() {
		assert.Contains(t, fams, name, "every metric is emitted for this history")
		assert.Contains(t, out.String(), "# TYPE "+name+" gauge\n")
	}
	sc := func(name string) map[string]string {
		owner := "platform"
		if name == "db-stale" || name == "cache-broken" {
			owner = "data"
		}
		return map[string]string{"scenario": name, "owner": owner}
	}
	with := func(m map[string]string, k, v string) map[string]string {
		c := map[string]string{k: v}
		for a, b := range m {
			c[a] = b
		}
		return c
	}
	hour := 3600.0

	assert.Equal(t, 1.0, value(t, fams, MetricRegularlyChecked, sc("web-holds")))
	assert.Equal(t, 0.0, value(t, fams, MetricRegularlyChecked, sc("db-stale")))
	assert.Equal(t, 30*hour, value(t, fams, MetricFreshness, sc("db-stale")))
	assert.Equal(t, 24*hour, value(t, fams, MetricFreshnessLimit, sc("db-stale")))
	assert.Equal(t, float64(testNow.Add(-30*3600e9).Unix()), value(t, fams, MetricLastSuccessTimestamp, sc("db-stale")))
	assert.Equal(t, float64(testNow.Add(-30*3600e9).Unix()+40), value(t, fams, MetricLastRunTimestamp, sc("db-stale")), "start + 40 s")

	assert.Equal(t, 0.5, value(t, fams, MetricFlakyRate, sc("queue-flaky")))
	assert.Equal(t, 0.0, value(t, fams, MetricGuidelineHolds, sc("queue-flaky")))
	assert.Equal(t, 0.0, value(t, fams, MetricGuidelineCheck, with(sc("queue-flaky"), "check", "not-flaky")))
	assert.Equal(t, 1.0, value(t, fams, MetricGuidelineCheck, with(sc("queue-flaky"), "check", "automated")))

	assert.Equal(t, 1.0, value(t, fams, MetricSlower, sc("api-slower")))
	assert.Equal(t, 0.0, value(t, fams, MetricSlower, sc("web-holds")))
	assert.Equal(t, 120.0, value(t, fams, MetricRunDuration, sc("api-slower")))
	assert.Equal(t, 60.0, value(t, fams, MetricDurationMedian, sc("api-slower")), "median of the recent passed runs, the newest included")
	assert.Equal(t, 300.0, value(t, fams, MetricRunBudget, sc("api-slower")))
	// api-slower's 120 s run: 2 cycles, provision takes 25% of each 60 s.
	assert.Equal(t, 15.0, value(t, fams, MetricStepDuration, with(with(sc("api-slower"), "step", "provision"), "phase", "provision")))

	assert.Equal(t, 0.0, value(t, fams, MetricLastRunPassed, sc("cache-broken")))
	assert.Equal(t, 0.8, value(t, fams, MetricPassRate, sc("cache-broken")))
	assert.Equal(t, 0.0, value(t, fams, MetricRunsRunning, sc("cache-broken")))
}

func TestPrometheusNeverSucceededAndEscaping(t *testing.T) {
	r := &results.Run{
		RunID: "20261127T070000Z-000001", Status: results.StatusFailed, StartedAt: testNow.Add(-1e9 * 3600), DurationMs: 1500,
		Scenario:  results.ScenarioRef{Name: "odd", Owner: "team \"a\"\\b\nc"},
		Guideline: &results.Guideline{Checks: []results.Check{{Name: "repeatable"}}},
		Cycles: []results.Cycle{{Index: 1, Status: results.StatusFailed, Steps: []results.Step{
			{Name: `step "x"`, Phase: results.PhaseDeploy, Status: results.StatusFailed, DurationMs: 1000},
			{Name: "skipped", Phase: results.PhaseVerify, Status: results.StatusSkipped},
		}}},
	}
	var out bytes.Buffer
	require.NoError(t, Write(&out, Prometheus, FromRuns([]*results.Run{r}, testNow), Options{}))
	fams := parseProm(t, out.Bytes())
	labels := map[string]string{"scenario": "odd", "owner": "team \"a\"\\b\nc"}
	assert.True(t, math.IsInf(value(t, fams, MetricFreshness, labels), 1), "never succeeded: +Inf, so freshness > limit alerts fire")
	assert.NotContains(t, fams, MetricLastSuccessTimestamp)
	assert.NotContains(t, fams, MetricDurationMedian, "no passed run to take a median of")
	assert.Equal(t, 1.0, value(t, fams, MetricStepDuration, map[string]string{"step": `step "x"`}))
	assert.NotContains(t, out.String(), `step="skipped"`, "skipped steps have no duration")
	assert.Equal(t, 0.0, value(t, fams, MetricGuidelineCheck, map[string]string{"check": "repeatable"}))
}

func TestPrometheusEmpty(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, Write(&out, Prometheus, &History{}, Options{}))
	assert.Empty(t, strings.TrimSpace(out.String()))
}
