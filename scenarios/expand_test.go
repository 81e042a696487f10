package scenarios

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func lookupIn(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestExpand(t *testing.T) {
	vars := lookupIn(map[string]string{"A": "1", "B": "two", "EMPTY": "", "REF": "${A}", "_x9": "u"})
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"${A}", "1"},
		{"a${A}b${B}c", "a1btwoc"},
		{"${A}${A}", "11"},
		{"${_x9}", "u"},
		{"[${EMPTY}]", "[]"},
		{"${REF}", "${A}"}, // values are not expanded again
		{"$${A}", "${A}"},
		{"$${", "${"},
		{"$$${A}", "$${A}"}, // left to right: a lone $, then the $${ escape
		{"$A and $1 and $", "$A and $1 and $"},
		{"cost: $5, pid $$", "cost: $5, pid $$"},
		{"^ok$", "^ok$"},
		{"echo $HOME/${B}", "echo $HOME/two"},
		{"{A} }${A}{", "{A} }1{"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Expand(tt.in, vars)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestExpandErrors(t *testing.T) {
	vars := lookupIn(map[string]string{"A": "1"})

	_, err := Expand("x ${NOPE} ${A}", vars)
	undefined, ok := err.(*UndefinedVariableError)
	require.True(t, ok, "got %T %v", err, err)
	assert.Equal(t, "NOPE", undefined.Name)
	assert.EqualError(t, err, "undefined variable NOPE")
	assert.ErrorIs(t, err, ErrUndefinedVariable)

	for _, in := range []string{"${A", "x ${", "${A-B}", "${}", "${1A}", "${A:-x}", "${ A}", "${A.B}"} {
		t.Run(in, func(t *testing.T) {
			_, err := Expand(in, vars)
			syntax, ok := err.(*ExpandSyntaxError)
			require.True(t, ok, "got %T %v", err, err)
			assert.Equal(t, strings.Index(in, "${"), syntax.Offset)
		})
	}
	_, err = Expand("abc ${A", vars)
	assert.EqualError(t, err, "unterminated ${ at offset 4")
}

func TestReferences(t *testing.T) {
	assert.Equal(t, []string{"A", "B"}, References("${A}/${B}/${A} $${C} $D"))
	assert.Nil(t, References("no refs"))
	assert.Nil(t, References("${broken"))
}

// FuzzExpand checks that Expand never panics and that, when every name is
// defined with a plain value, nothing that looks like ${ is left over
// unless the input asked for a literal one with $${.
func FuzzExpand(f *testing.F) {
	for _, seed := range []string{"", "${A}", "$${A}", "$$${A}", "a$b${c}d", "${", "${A", "${A-B}", "$", "}${x}{", "http://h:${PORT}/x?q=$1"} {
		f.Add(seed)
	}
	plain := func(string) (string, bool) { return "v", true }
	tricky := func(string) (string, bool) { return "${LOOP}", true }
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Expand(s, plain)
		if err == nil && !strings.Contains(s, "$${") && strings.Contains(out, "${") {
			t.Fatalf("Expand(%q) = %q: a ${ survived", s, out)
		}
		if !strings.Contains(s, "$") && (err != nil || out != s) {
			t.Fatalf("Expand(%q) = %q, %v: text without $ must pass through", s, out, err)
		}
		// Values are never expanded again, so whether Expand fails cannot
		// depend on what the values hold.
		_, err2 := Expand(s, tricky)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Expand(%q): error %v with plain values but %v with values holding ${", s, err, err2)
		}
	})
}
