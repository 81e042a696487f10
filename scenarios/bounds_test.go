package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseProblems parses a scenario whose spec is the given YAML lines (indented
// by two spaces, starting on line 5) and returns its problems.
func parseProblems(t *testing.T, spec string, opts ...LoadOption) []Problem {
	t.Helper()
	data := "apiVersion: drill/v1\nkind: Scenario\nmetadata: {name: b}\nspec:\n" + spec + "\n"
	_, err := Parse("b.yaml", []byte(data), opts...)
	if err == nil {
		return nil
	}
	le, ok := errors.AsType[*LoadError](err)
	require.True(t, ok, "got %T: %v", err, err)
	return le.Problems
}

const noneTarget = "  target: {none: {}}\n"

func TestBounds(t *testing.T) {
	tests := []struct {
		name, spec string
		want       want // line is from the start of the file; every case is on line 5
	}{
		{"cycles above", "  cycles: 101", want{5, 11, "spec.cycles", "must be at most 100, got 101"}},
		{"cycles overflow", "  cycles: 99999999999999999999", want{5, 11, "spec.cycles", "must be at most 100, got 99999999999999999999"}},
		{"cycles just over int64", "  cycles: 9223372036854775808", want{5, 11, "spec.cycles", "must be at most 100, got 9223372036854775808"}},
		{"cycles negative overflow", "  cycles: -99999999999999999999", want{5, 11, "spec.cycles", "must be at least 1, got -99999999999999999999"}},
		{"default retries above", "  defaults: {retries: 101}", want{5, 23, "spec.defaults.retries", "must be at most 100, got 101"}},
		{"step retries overflow", "  steps: [{name: a, run: x, retries: 1_000_000_000_000_000_000_000}]", want{5, 38, "spec.steps[0].retries", "must be at most 100, got 1_000_000_000_000_000_000_000"}},
		{"status overflow", "  steps: [{name: a, http: {url: 'http://h/', status: 99999999999999999999}}]", want{5, 54, "spec.steps[0].http.status", "HTTP status 99999999999999999999 is out of range: want 100 to 599"}},
		{"timeout above", "  defaults: {timeout: 8d}", want{5, 23, "spec.defaults.timeout", "must be at most 7d, got 8d"}},
		{"timeout by a nanosecond", "  steps: [{name: a, run: x, timeout: 7d1ns}]", want{5, 38, "spec.steps[0].timeout", "must be at most 7d, got 7d1ns"}},
		{"timeout overflow", "  defaults: {timeout: 9999999999999d}", want{5, 23, "spec.defaults.timeout", `invalid duration "9999999999999d": too long: at most 7d`}},
		{"retryDelay overflow in hours", "  defaults: {retryDelay: 9999999999999h}", want{5, 26, "spec.defaults.retryDelay", `invalid duration "9999999999999h": too long: at most 7d`}},
		{"budget above", "  budget: 169h", want{5, 11, "spec.budget", "must be at most 7d, got 169h"}},
		{"freshness above", "  freshness: 367d", want{5, 14, "spec.freshness", "must be at most 366d, got 367d"}},
		{"freshness overflow", "  freshness: 99999999999999999999d", want{5, 14, "spec.freshness", `invalid duration "99999999999999999999d": too long: at most 366d`}},
		{"within above", "  steps: [{name: a, http: {url: 'http://h/', within: 8d}}]", want{5, 54, "spec.steps[0].http.within", "must be at most 7d, got 8d"}},
		{"interval below", "  steps: [{name: a, http: {url: 'http://h/', interval: 1ns}}]", want{5, 56, "spec.steps[0].http.interval", "must be at least 100ms, got 1ns"}},
		{"interval above", "  steps: [{name: a, http: {url: 'http://h/', interval: 8d}}]", want{5, 56, "spec.steps[0].http.interval", "must be at most 7d, got 8d"}},
		{"waitReady above", "  target: {kind: {waitReady: 30d}}\n  steps: [{name: a, run: x}]", want{5, 30, "spec.target.kind.waitReady", "must be at most 7d, got 30d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec + "\n"
			if !strings.Contains(spec, "steps:") {
				spec += "  steps: [{name: a, run: x}]\n"
			}
			if !strings.Contains(spec, "target:") {
				spec += noneTarget
			}
			got := parseProblems(t, spec)
			require.Len(t, got, 1, "%v", got)
			assert.Equal(t, tt.want, want{got[0].Line, got[0].Column, got[0].Field, got[0].Message})
		})
	}
}

func TestBoundsAccepted(t *testing.T) {
	spec := `  cycles: 100
  budget: 7d
  freshness: 366d
  defaults: {timeout: 7d, retries: 100, retryDelay: 7d}
  target: {kind: {waitReady: 7d}}
  steps:
    - name: a
      retries: 100
      http: {url: 'http://h/', within: 7d, interval: 100ms, status: 599}
`
	assert.Empty(t, parseProblems(t, spec))
}

// Validate applies the same bounds to a scenario built in Go, quoting the
// values as a file would write them.
func TestValidateBounds(t *testing.T) {
	s := &Scenario{
		Metadata: Metadata{Name: "go-built"},
		Spec: Spec{
			Cycles:    1000,
			Freshness: Duration(400 * 24 * time.Hour),
			Target:    Target{None: &NoneTarget{}},
			Steps: []Step{{Name: "a", Retries: ptr(101), Timeout: Duration(8 * 24 * time.Hour),
				HTTP: &HTTPAction{URL: "http://h/", Interval: Duration(time.Millisecond)}}},
		},
	}
	le, ok := errors.AsType[*LoadError](s.Validate())
	require.True(t, ok)
	var got []string
	for _, p := range le.Problems {
		got = append(got, p.String())
	}
	assert.Equal(t, []string{
		"spec.cycles: must be at most 100, got 1000",
		"spec.freshness: must be at most 366d, got 400d",
		"spec.steps[0].retries: must be at most 100, got 101",
		"spec.steps[0].timeout: must be at most 7d, got 8d",
		"spec.steps[0].http.interval: must be at least 100ms, got 1ms",
	}, got)
}
