package jsonindent

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// indentStd is what Append must match byte for byte.
func indentStd(t testing.TB, src []byte) []byte {
	var out bytes.Buffer
	require.NoError(t, json.Indent(&out, src, "", "  "))
	return out.Bytes()
}

var samples = []string{
	`{}`, `[]`, `""`, `0`, `-1.5e+10`, `true`, `null`,
	`{"a":1}`, `[1,2,3]`, `{"a":{},"b":[],"c":[{}],"d":[[]]}`,
	`{"quote":"say \"hi\"","backslash":"c:\\","both":"\\\"","tail":"x\\\\"}`,
	`{"brackets":"{[,:]}","unicode":"\u003cscript\u003e é ☃"}`,
	`{"deep":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
}

func TestAppendMatchesJSONIndent(t *testing.T) {
	for _, s := range samples {
		assert.Equal(t, string(indentStd(t, []byte(s))), string(Append(nil, []byte(s))), s)
	}
}

func TestMarshalMatchesMarshalIndent(t *testing.T) {
	v := map[string]any{
		"html":   "<a href=\"x\">&</a>",
		"list":   []any{1, "two", nil, map[string]any{}, []string{}},
		"nested": map[string]any{"k": []map[string]int{{"a": 1}, {"b": 2}}},
		"long":   strings.Repeat("\\\"", 100),
	}
	want, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	got, err := Marshal(v)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))

	_, err = Marshal(func() {})
	assert.Error(t, err, "a value json cannot encode is an error, as with json.Marshal")
}

// FuzzAppend checks Append against json.Indent on any valid JSON, compacted
// first as json.Marshal's output is.
func FuzzAppend(f *testing.F) {
	for _, s := range samples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var compact bytes.Buffer
		if json.Compact(&compact, data) != nil {
			return
		}
		src := compact.Bytes()
		if got, want := Append(nil, src), indentStd(t, src); !bytes.Equal(got, want) {
			t.Fatalf("Append(%q)\n got %q\nwant %q", src, got, want)
		}
	})
}

// benchDoc is shaped like a run document of 200 steps.
func benchDoc() any {
	steps := make([]map[string]any, 200)
	for i := range steps {
		steps[i] = map[string]any{
			"name": "step", "phase": "deploy", "owner": "platform", "status": "passed",
			"startedAt": "2026-12-02T21:41:43.123456789Z", "durationMs": 3,
			"attempts": 1, "log": "logs/cycle-1/step-001.log", "exitCode": 0,
		}
	}
	return map[string]any{"apiVersion": "drill/v1", "kind": "DrillRun", "cycles": []any{map[string]any{"cycle": 1, "steps": steps}}}
}

func BenchmarkMarshalIndentStd(b *testing.B) {
	v := benchDoc()
	for b.Loop() {
		if _, err := json.MarshalIndent(v, "", "  "); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	v := benchDoc()
	for b.Loop() {
		if _, err := Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIndentStd(b *testing.B) {
	src, err := json.Marshal(benchDoc())
	require.NoError(b, err)
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		if err := json.Indent(&out, src, "", "  "); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	src, err := json.Marshal(benchDoc())
	require.NoError(b, err)
	var out []byte
	for b.Loop() {
		out = Append(out[:0], src)
	}
}
