package textsafe

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, tabs\tand\nnewlines", "plain text, tabs\tand\nnewlines"},
		{"\x1b[2J\x1b]0;pwned\x07", `\x1b[2J\x1b]0;pwned\x07`},
		{"progress 10%\rprogress 20%", `progress 10%\rprogress 20%`},
		{"nul\x00 del\x7f bs\b", `nul\x00 del\x7f bs\x08`},
		{"c1 \u009b31m csi", `c1 \u009b31m csi`},
		{"admin\u202e\u2066gnp.exe\u2069", `admin\u202e\u2066gnp.exe\u2069`},
		{"bad utf-8 \xff\xfe end", `bad utf-8 \xff\xfe end`},
		{"unicode é ✓ 日本 and U+FFFD \uFFFD kept", "unicode é ✓ 日本 and U+FFFD \uFFFD kept"},
		{"zero width joiner \u200d and LRM \u200e kept", "zero width joiner \u200d and LRM \u200e kept"},
		{"", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Escape(tt.in), "%q", tt.in)
	}
}

func TestFind(t *testing.T) {
	tests := []struct {
		in   string
		r    rune
		pos  int
		safe bool
	}{
		{"ok\ttab\nnewline", 0, 0, true},
		{"héllo\x1b[31m", 0x1b, 6, false},
		{"\u202eabc", 0x202e, 1, false},
		{"ab\u2069", 0x2069, 3, false},
		{"a\u0085", 0x85, 2, false},
		{"é\xff", '\uFFFD', 2, false},
		{"keep \uFFFD", 0, 0, true},
	}
	for _, tt := range tests {
		r, pos, found := Find(tt.in)
		assert.Equal(t, !tt.safe, found, "%q", tt.in)
		assert.Equal(t, tt.r, r, "%q", tt.in)
		assert.Equal(t, tt.pos, pos, "%q", tt.in)
	}
}

func TestUnsafeBoundaries(t *testing.T) {
	for _, r := range []rune{0, 0x1f, 0x7f, 0x80, 0x9f, 0x202a, 0x202e, 0x2066, 0x2069, '\r'} {
		assert.True(t, Unsafe(r), "U+%04X", r)
	}
	for _, r := range []rune{'\t', '\n', ' ', '~', 0xa0, 0x2029, 0x202f, 0x2065, 0x206a} {
		assert.False(t, Unsafe(r), "U+%04X", r)
	}
	assert.Equal(t, "U+001B (ESC)", Name(0x1b))
	assert.Equal(t, "U+2066", Name(0x2066))
}
