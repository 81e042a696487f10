package drills

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// minLineLen is how long (in characters, once trimmed) a line of a
// multi-line secret must be to be masked on its own. Shorter lines ("-----",
// "}", "apiVersion: v1") are too common to mask everywhere without masking
// ordinary output.
const minLineLen = 12

// valuesOf returns v and, when v spans several lines, each of its lines that
// is long enough to be a secret on its own, trimmed: a step may print a key
// indented, or only one line of it.
func valuesOf(v string) []string {
	values := []string{v}
	if !strings.ContainsAny(v, "\n\r") {
		return values
	}
	for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
		line = strings.TrimSpace(line)
		if utf8.RuneCountInString(line) >= minLineLen && line != v {
			values = append(values, line)
		}
	}
	return values
}

// formsOf returns the texts under which the value v can reach a log: v
// itself, and v as each tool a drill runs would escape it (URLs, JSON, Go,
// HCL, shells). Each escaped form is the body without its surrounding quotes,
// so it is found whatever quoting the tool put around it. The result may hold
// duplicates; the matcher keeps each text once.
func formsOf(v string) []string {
	forms := []string{v}
	add := func(f string) {
		if f != "" && f != v {
			forms = append(forms, f)
		}
	}
	q := url.QueryEscape(v)
	add(q)
	add(lowerHex(q))
	p := url.PathEscape(v)
	add(p)
	add(lowerHex(p))
	add(jsonBody(v, true))
	add(jsonBody(v, false))
	add(asciiOnly(jsonBody(v, false)))
	add(unquote(strconv.Quote(v)))        // Go's %q
	add(unquote(strconv.QuoteToASCII(v))) // Go's %+q
	add(hclBody(v))
	add(bashBackslash(v))
	if !printableASCII(v) {
		add(bashANSIC(v, true))
		add(bashANSIC(v, false))
	}
	add(strings.ReplaceAll(v, "'", `'\''`))
	return forms
}

// lowerHex turns the hex digits of every percent escape in s to lower case:
// Go and most tools write %2F, some (and people) write %2f.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = lowerASCII(b[i+1])
			b[i+2] = lowerASCII(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// jsonBody returns v as encoding/json writes it, without the quotes.
// escapeHTML chooses between json.Marshal (\u003c for <, \u003e, \u0026) and
// an Encoder with SetEscapeHTML(false), as kubectl and jq-like tools write.
func jsonBody(v string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		return "" // a string always encodes; an empty form is ignored
	}
	return unquote(strings.TrimSuffix(b.String(), "\n"))
}

// asciiOnly rewrites every non-ASCII character of a JSON string body as a
// \uXXXX escape (a surrogate pair beyond the BMP), as Python's json.dumps
// does by default.
func asciiOnly(body string) string {
	if printableASCII(body) {
		return body
	}
	var b strings.Builder
	for _, r := range body {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// unquote drops the first and last byte of a quoted string.
func unquote(q string) string {
	if len(q) < 2 {
		return ""
	}
	return q[1 : len(q)-1]
}

// hclBody returns v as HCL (Terraform) writes it in a quoted string, the way
// hclwrite escapes a literal: JSON-like backslash escapes, non-printable
// characters as \uXXXX or \UXXXXXXXX, and the template introducers ${ and %{
// doubled to $${ and %%{.
func hclBody(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '$', '%':
			b.WriteRune(r)
			if i+1 < len(v) && v[i+1] == '{' {
				b.WriteRune(r)
			}
		default:
			switch {
			case unicode.IsPrint(r):
				b.WriteRune(r)
			case r < 0x10000:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		}
	}
	return b.String()
}

// wprint approximates glibc's iswprint under a UTF-8 locale, which decides
// what bash's printf %q copies as is: every assigned character except the
// controls and the line and paragraph separators.
func wprint(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs, unicode.Cf, unicode.Co)
}

// printableASCII reports whether every byte of s is printable ASCII (space
// to ~), which is when bash's printf %q keeps to backslashes.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// bashSpecial lists the ASCII characters bash's printf %q precedes with a
// backslash (bstab in bash's lib/sh/shquote.c).
const bashSpecial = "\t\n !\"$&'()*,;<>?[\\]^`{|}"

// bashBackslash returns v as bash's printf %q writes a value of printable
// characters: a backslash before each character special to the shell, before
// a leading # and before a ~ that starts the word or follows : or =.
// Other bytes, non-ASCII included, are copied.
func bashBackslash(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.IndexByte(bashSpecial, c) >= 0,
			c == '#' && i == 0,
			c == '~' && (i == 0 || v[i-1] == ':' || v[i-1] == '='):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// bashANSIC returns the body of the $'...' form bash's printf %q writes for
// a value holding a newline, a control character or, in the C locale, any
// non-ASCII byte: \n \t \r \a \b \f \v \E, \\ and \', and other unprintable
// bytes in octal. utf8Locale keeps printable non-ASCII characters as they
// are, as bash does under a UTF-8 locale; otherwise they are octal bytes.
func bashANSIC(v string, utf8Locale bool) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		c := v[i]
		switch c {
		case '\a', '\b', '\t', '\n', '\v', '\f', '\r':
			b.WriteByte('\\')
			b.WriteByte(`abtnvfr`[c-'\a'])
		case 0x1b:
			b.WriteString(`\E`)
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			if c >= ' ' && c <= '~' {
				b.WriteByte(c)
				break
			}
			if r, n := utf8.DecodeRuneInString(v[i:]); utf8Locale && n > 1 && wprint(r) {
				b.WriteString(v[i : i+n])
				i += n
				continue
			}
			fmt.Fprintf(&b, `\%03o`, c)
		}
		i++
	}
	return b.String()
}
