package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Free text drill prints may not hold terminal controls; multi-line text
// may hold tabs and newlines, one-line text may not.
func TestTerminalControlCharacters(t *testing.T) {
	const refused = "is not allowed: terminal control characters and bidi overrides could change what a terminal shows"
	head := "apiVersion: drill/v1\nkind: Scenario\n"
	tests := []struct {
		name, yaml string
		want       []want
	}{
		{"escape in the description", `metadata: {name: t, description: "Rebuild\e[2J the stack"}`,
			[]want{{3, 34, "metadata.description", "character U+001B (ESC) at position 8 " + refused}}},
		{"bidi override in the owner", `metadata: {name: t, owner: "plat\u202eform"}`,
			[]want{{3, 28, "metadata.owner", "character U+202E (RIGHT-TO-LEFT OVERRIDE) at position 5 " + refused}}},
		{"carriage return in a label value", `metadata: {name: t, labels: {tier: "demo\rprod"}}`,
			[]want{{3, 36, "metadata.labels.tier", "character U+000D (CR) at position 5 " + refused}}},
		{"C1 control in a label key", `metadata: {name: t, labels: {"ti\u009ber": demo}}`,
			[]want{{3, 30, `metadata.labels["ti\u009ber"]`, "character U+009B (CSI) at position 3 " + refused}}},
		{"DEL in a step owner", `metadata: {name: t}
spec: {target: {none: {}}, steps: [{name: a, run: x, owner: "web\x7f"}]}`,
			[]want{{4, 61, "spec.steps[0].owner", "character U+007F (DEL) at position 4 " + refused}}},
		{"isolate in manual instructions", `metadata: {name: t}
spec: {target: {none: {}}, steps: [{name: a, manual: "Check \u2066the banner\u2069"}]}`,
			[]want{{4, 54, "spec.steps[0].manual", "character U+2066 at position 7 " + refused}}},
		{"newline in an owner", `metadata: {name: t, owner: "platform\nteam"}`,
			[]want{{3, 28, "metadata.owner", "must be one line: a newline at position 9"}}},
		{"tab in a label value", `metadata: {name: t, labels: {tier: "de\tmo"}}`,
			[]want{{3, 36, "metadata.labels.tier", "must be one line: a tab at position 3"}}},
		{"bidi override in a step name", `metadata: {name: t}
spec: {target: {none: {}}, steps: [{name: "ab\u202ec", run: x}]}`,
			[]want{{4, 43, "spec.steps[0].name", `invalid step name "ab\u202ec": use printable characters`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := head + tt.yaml + "\n"
			if !strings.Contains(tt.yaml, "spec:") {
				data += "spec: {target: {none: {}}, steps: [{name: a, run: x}]}\n"
			}
			_, err := Parse("t.yaml", []byte(data), env(nil))
			le := loadError(t, err)
			var got []want
			for i, p := range le.Problems {
				w := want{p.Line, p.Column, p.Field, p.Message}
				if i < len(tt.want) && strings.HasPrefix(p.Message, tt.want[i].msg) {
					w.msg = tt.want[i].msg
				}
				got = append(got, w)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMultiLineTextAllowsTabsAndNewlines(t *testing.T) {
	data := `apiVersion: drill/v1
kind: Scenario
metadata:
  name: t
  description: |
    Rebuild the stack.
    	Indented with a tab.
spec:
  target: {none: {}}
  steps:
    - name: a
      manual: "Open the dashboard,\n\tthen check the banner."
`
	s, err := Parse("t.yaml", []byte(data), env(nil))
	if assert.NoError(t, err) {
		assert.Equal(t, "Rebuild the stack.\n\tIndented with a tab.\n", s.Metadata.Description)
	}
}

func loadError(t *testing.T, err error) *LoadError {
	t.Helper()
	le, ok := errors.AsType[*LoadError](err)
	require.True(t, ok, "want a *LoadError, got %T: %v", err, err)
	return le
}
