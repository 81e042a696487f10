package report

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redeploy-drill/drill/results"
)

// Metric names of the Prometheus rendering. deploy/prometheus/alerts.yaml
// and deploy/grafana/dashboard.json are built on them (their tests check
// that every name they use is one of these).
const (
	MetricLastRunTimestamp     = "drill_last_run_timestamp_seconds"
	MetricLastRunPassed        = "drill_last_run_passed"
	MetricLastSuccessTimestamp = "drill_last_success_timestamp_seconds"
	MetricRunDuration          = "drill_run_duration_seconds"
	MetricRunBudget            = "drill_run_budget_seconds"
	MetricStepDuration         = "drill_step_duration_seconds"
	MetricGuidelineCheck       = "drill_guideline_check"
	MetricGuidelineHolds       = "drill_guideline_holds"
	MetricFreshness            = "drill_freshness_seconds"
	MetricFreshnessLimit       = "drill_freshness_limit_seconds"
	MetricRegularlyChecked     = "drill_regularly_checked"
	MetricPassRate             = "drill_pass_rate"
	MetricFlakyRate            = "drill_flaky_rate"
	MetricDurationMedian       = "drill_duration_median_seconds"
	MetricDurationP95          = "drill_duration_p95_seconds"
	MetricSlower               = "drill_slower"
	MetricRunsRunning          = "drill_runs_running"
)

// metricFamily is one metric's HELP text and its samples for every
// scenario.
type metricFamily struct {
	name, help string
	// sample returns the metric's samples for sc; none leaves the scenario
	// out (a scenario that never succeeded has no last success time).
	sample func(h *History, sc *Scenario) []promSample
}

type promSample struct {
	labels [][2]string // after scenario and owner
	value  float64
}

func one(v float64) []promSample { return []promSample{{value: v}} }

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func seconds(ms int64) float64 { return float64(ms) / 1000 }

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// PrometheusMetrics lists the metric names the Prometheus rendering can
// emit, in output order.
func PrometheusMetrics() []string {
	names := make([]string, len(promFamilies))
	for i, f := range promFamilies {
		names[i] = f.name
	}
	return names
}

var promFamilies = []metricFamily{
	{MetricLastRunTimestamp, "Unix time the newest finished drill of the scenario ended.", func(_ *History, sc *Scenario) []promSample {
		if n := sc.Summary.Newest; n != nil {
			return one(unixSeconds(n.StartedAt.Add(time.Duration(n.DurationMs) * time.Millisecond)))
		}
		return nil
	}},
	{MetricLastRunPassed, "1 when the newest finished drill passed, else 0.", func(_ *History, sc *Scenario) []promSample {
		if n := sc.Summary.Newest; n != nil {
			return one(boolValue(n.Status == results.StatusPassed))
		}
		return nil
	}},
	{MetricLastSuccessTimestamp, "Unix time the newest drill that passed with the guideline holding started.", func(_ *History, sc *Scenario) []promSample {
		if t := sc.Summary.LastSuccess; t != nil {
			return one(unixSeconds(*t))
		}
		return nil
	}},
	{MetricRunDuration, "Duration of the newest finished drill.", func(_ *History, sc *Scenario) []promSample {
		if n := sc.Summary.Newest; n != nil {
			return one(seconds(n.DurationMs))
		}
		return nil
	}},
	{MetricRunBudget, "The scenario's time budget (spec.budget), when it sets one.", func(_ *History, sc *Scenario) []promSample {
		if sc.BudgetMs > 0 {
			return one(seconds(sc.BudgetMs))
		}
		return nil
	}},
	{MetricStepDuration, "Duration of each step of the newest finished drill (the slowest of its cycles).", func(_ *History, sc *Scenario) []promSample {
		e := newestComplete(sc)
		if e == nil {
			return nil
		}
		type key struct{ step, phase string }
		var order []key
		slowest := map[key]int64{}
		for _, st := range e.Steps {
			if st.Status == results.StatusSkipped {
				continue
			}
			k := key{st.Name, st.Phase}
			if _, seen := slowest[k]; !seen {
				order = append(order, k)
			}
			slowest[k] = max(slowest[k], st.DurationMs)
		}
		var out []promSample
		for _, k := range order {
			out = append(out, promSample{labels: [][2]string{{"step", k.step}, {"phase", k.phase}}, value: seconds(slowest[k])})
		}
		return out
	}},
	{MetricGuidelineCheck, "1 when the guideline check held in the newest finished drill, else 0.", func(_ *History, sc *Scenario) []promSample {
		r := newestRun(sc)
		if r == nil || r.Guideline == nil {
			// Without the document only the failing checks are known.
			if n := sc.Summary.Newest; n != nil {
				var out []promSample
				for _, c := range n.Failing {
					out = append(out, promSample{labels: [][2]string{{"check", c.Name}}, value: 0})
				}
				return out
			}
			return nil
		}
		var out []promSample
		for _, c := range r.Guideline.Checks {
			out = append(out, promSample{labels: [][2]string{{"check", c.Name}}, value: boolValue(c.OK)})
		}
		return out
	}},
	{MetricGuidelineHolds, "1 when the guideline held in the newest finished drill, else 0.", func(_ *History, sc *Scenario) []promSample {
		if n := sc.Summary.Newest; n != nil {
			return one(boolValue(n.Holds))
		}
		return nil
	}},
	{MetricFreshness, "Seconds since the newest drill that passed with the guideline holding started (+Inf: never).", func(h *History, sc *Scenario) []promSample {
		if t := sc.Summary.LastSuccess; t != nil {
			return one(math.Max(0, h.GeneratedAt.Sub(*t).Seconds()))
		}
		return one(math.Inf(1))
	}},
	{MetricFreshnessLimit, "The scenario's freshness (spec.freshness): a passing drill is expected at least this often.", func(_ *History, sc *Scenario) []promSample {
		return one(seconds(sc.Summary.FreshnessMs))
	}},
	{MetricRegularlyChecked, "1 when a drill passed with the guideline holding within the freshness, else 0.", func(_ *History, sc *Scenario) []promSample {
		return one(boolValue(sc.Summary.RegularlyChecked))
	}},
	{MetricPassRate, "Share of the recent finished drills that passed.", func(_ *History, sc *Scenario) []promSample {
		if sc.Summary.Recent > 0 {
			return one(sc.Summary.PassRate)
		}
		return nil
	}},
	{MetricFlakyRate, "Share of the recent finished drills in which a step passed only after a retry.", func(_ *History, sc *Scenario) []promSample {
		if sc.Summary.Recent > 0 {
			return one(sc.Summary.FlakyRate)
		}
		return nil
	}},
	{MetricDurationMedian, "Median duration of the recent passed drills.", func(_ *History, sc *Scenario) []promSample {
		if sc.Summary.MedianMs > 0 {
			return one(seconds(sc.Summary.MedianMs))
		}
		return nil
	}},
	{MetricDurationP95, "95th percentile duration of the recent passed drills.", func(_ *History, sc *Scenario) []promSample {
		if sc.Summary.P95Ms > 0 {
			return one(seconds(sc.Summary.P95Ms))
		}
		return nil
	}},
	{MetricSlower, "1 when the newest drill passed more than 50% slower than the median of the passed drills before it.", func(_ *History, sc *Scenario) []promSample {
		if sc.Summary.Newest != nil {
			return one(boolValue(sc.Summary.Slower))
		}
		return nil
	}},
	{MetricRunsRunning, "Drills of the scenario still marked running (some may have died: see drill gc).", func(_ *History, sc *Scenario) []promSample {
		return one(float64(len(sc.Running)))
	}},
}

// newestComplete is the newest finished entry when it carries its steps.
func newestComplete(sc *Scenario) *results.HistoryEntry {
	n := sc.Summary.Newest
	if n == nil || len(sc.Entries) == 0 {
		return nil
	}
	e := &sc.Entries[len(sc.Entries)-1]
	if e.RunID != n.RunID {
		return nil
	}
	return e
}

// newestRun is the document of the newest finished run, when loaded.
func newestRun(sc *Scenario) *results.Run {
	n := sc.Summary.Newest
	if n == nil {
		return nil
	}
	for i := len(sc.Runs) - 1; i >= 0; i-- {
		if sc.Runs[i].RunID == n.RunID {
			return sc.Runs[i]
		}
	}
	return nil
}

// writePrometheus renders the text exposition format (version 0.0.4): all
// gauges, labelled with scenario and owner, without timestamps (the textfile
// collector refuses them; a Pushgateway stamps its own).
func writePrometheus(w io.Writer, h *History) error {
	bw := bufio.NewWriter(w)
	for _, f := range promFamilies {
		var lines []string
		for _, sc := range h.Scenarios {
			for _, s := range f.sample(h, sc) {
				labels := append([][2]string{{"scenario", sc.Name}, {"owner", sc.Owner}}, s.labels...)
				lines = append(lines, f.name+formatLabels(labels)+" "+formatValue(s.value))
			}
		}
		if len(lines) == 0 {
			continue
		}
		bw.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
		bw.WriteString("# TYPE " + f.name + " gauge\n")
		for _, l := range lines {
			bw.WriteString(l + "\n")
		}
	}
	return bw.Flush()
}

func formatLabels(labels [][2]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l[0])
		b.WriteString(`="`)
		b.WriteString(escapeLabel(l[1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
