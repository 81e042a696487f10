// Package textsafe keeps text drill did not write (a scenario's
// descriptions, a script's output) from driving the terminal it is printed
// on: escape sequences that move the cursor, clear the screen, retitle the
// window or hide a link, and bidi overrides that make text read differently
// than it is (CVE-2021-42574, "Trojan Source").
package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Unsafe reports whether r is a terminal control drill refuses or escapes:
// a C0 control other than tab and newline (ESC, CR, BEL, backspace ...),
// DEL, a C1 control (U+0080–U+009F, which 8-bit terminals read as ESC
// sequences), or a bidi embedding, override or isolate (U+202A–U+202E,
// U+2066–U+2069).
func Unsafe(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Find returns the first unsafe rune of s and its 1-based position in
// characters, or ok false when s has none. Invalid UTF-8 is reported as
// utf8.RuneError.
func Find(s string) (r rune, pos int, ok bool) {
	pos = 0
	for i, c := range s {
		pos++
		if Unsafe(c) || c == utf8.RuneError && isInvalid(s[i:]) {
			return c, pos, true
		}
	}
	return 0, 0, false
}

// isInvalid reports whether s starts with a byte that is not valid UTF-8
// (as opposed to a U+FFFD written out).
func isInvalid(s string) bool {
	_, size := utf8.DecodeRuneInString(s)
	return size <= 1
}

// Name describes r for a message: U+001B (ESC), U+202E.
func Name(r rune) string {
	if n, ok := names[r]; ok {
		return fmt.Sprintf("U+%04X (%s)", r, n)
	}
	return fmt.Sprintf("U+%04X", r)
}

var names = map[rune]string{
	0x00: "NUL", 0x07: "BEL", 0x08: "BS", 0x0b: "VT", 0x0c: "FF", 0x0d: "CR",
	0x1b: "ESC", 0x7f: "DEL", 0x9b: "CSI", 0x202e: "RIGHT-TO-LEFT OVERRIDE",
}

// Escape returns s with every unsafe rune written as a Go escape, so that it
// prints as visible text: ESC as \x1b, CR as \r, U+202E as \u202e, a byte
// of invalid UTF-8 as \xff. Tab, newline and every other character are kept
// as they are; s without anything unsafe is returned unchanged.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !Unsafe(r):
			b.WriteString(s[i : i+size])
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	_, _, found := Find(s)
	return found
}
