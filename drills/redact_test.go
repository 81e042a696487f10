package drills

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/testtools"
)

// TestRedactForms checks each escaped form against text written out by
// hand, so a form that drifts from what the tools write shows up here.
func TestRedactForms(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		text   string // how a step or a tool prints it
	}{
		{"raw", "hunter2-s3cret", "hunter2-s3cret"},
		{"query-escape", "a b/c+d=e", "a+b%2Fc%2Bd%3De"},
		{"query-escape-lower-hex", "a b/c+d=e", "a+b%2fc%2bd%3de"},
		{"path-escape", "a b/c+d=e", "a%20b%2Fc+d=e"},
		{"path-escape-lower-hex", "a b/c+d=e", "a%20b%2fc+d=e"},
		{"json-html", `<p&q>"x"`, `\u003cp\u0026q\u003e\"x\"`},
		{"json-no-html", `<p&q>"x"`, `<p&q>\"x\"`},
		{"json-controls", "a\\b\nc\td\x01e", `a\\b\nc\td\u0001e`},
		{"json-ascii", "pässwörd😀", `p\u00e4ssw\u00f6rd\ud83d\ude00`},
		{"go-quote", "a\x00b\"c\\d\n", `a\x00b\"c\\d\n`},
		{"go-quote-ascii", "pässwörd", `p\u00e4ssw\u00f6rd`},
		{"hcl-templates", `a${b}%{c}"d"`, `a$${b}%%{c}\"d\"`},
		{"hcl-newline", "line one\nline2", `line one\nline2`},
		{"bash-backslash", `it's a $ecret & more`, `it\'s\ a\ \$ecret\ \&\ more`},
		{"bash-backslash-tilde-hash", `#x:~y~z`, `\#x:\~y~z`},
		{"bash-ansi-c", "l1\nl2\t'q'\\\x1b\x7f", `l1\nl2\t\'q\'\\\E\177`},
		{"bash-ansi-c-c-locale", "é\n", `\303\251\n`},
		{"bash-ansi-c-utf8-locale", "é\n", `é\n`},
		{"single-quoted", "it's mine", `it'\''s mine`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRedactor(tt.secret)
			assert.Equal(t, "before *** after", r.Redact("before "+tt.text+" after"))
		})
	}
}

func TestRedactLinesOfMultiLineSecret(t *testing.T) {
	const secret = "first line long enough\n  short\r\n\tsecond long line here  \n"
	r := NewRedactor(secret)
	assert.Equal(t, "x *** y", r.Redact("x first line long enough y"))
	assert.Equal(t, "    ***\n", r.Redact("    second long line here\n"))
	assert.Equal(t, "  short", r.Redact("  short"), "a line under 12 characters is not a secret on its own")
	assert.Equal(t, `"***"`, r.Redact(`"second long line here"`))
	assert.Equal(t, 1, r.Secrets(), "lines are forms of the secret, not secrets of their own")
}

func TestRedactIgnoresEmptyAndRepeatedValues(t *testing.T) {
	r := NewRedactor("", "token-1", "token-1")
	r.Add("")
	assert.Equal(t, 1, r.Secrets())
	assert.Equal(t, "a *** b", r.Redact("a token-1 b"))

	for name, r := range map[string]*Redactor{"nil": nil, "zero": {}, "only-empty": NewRedactor("")} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, 0, r.Secrets())
			assert.Equal(t, "token-1 text", r.Redact("token-1 text"))
			b := []byte("token-1 text")
			assert.Equal(t, b, r.RedactBytes(b))
			var out bytes.Buffer
			w := r.Writer(&out)
			n, err := w.Write(b)
			require.NoError(t, err)
			assert.Equal(t, len(b), n)
			require.NoError(t, w.Close())
			assert.Equal(t, "token-1 text", out.String())
		})
	}
}

func TestRedactOverlapping(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"leftmost-self-overlap", []string{"abab"}, "xababab", "x***ab"},
		{"repeated", []string{"abab"}, "abababab", "******"},
		{"longest-at-same-position", []string{"abc", "abcdef"}, "abcdef abcdeX", "*** ***deX"},
		{"contained-in-another", []string{"bcd", "abcde"}, "abcde bcd", "*** ***"},
		{"leftmost-wins-over-longer", []string{"abc", "bcdefgh"}, "abcdefgh", "***defgh"},
		{"single-byte", []string{"q"}, "qaq", "***a***"},
		{"prefix-at-end", []string{"abcdef"}, "xx abcde", "xx abcde"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRedactor(tt.secrets...)
			assert.Equal(t, tt.want, r.Redact(tt.in))
			assert.Equal(t, tt.want, string(r.RedactBytes([]byte(tt.in))))
			for _, size := range []int{1, 2, 3, len(tt.in)} {
				assert.Equal(t, tt.want, writeSplit(t, r, tt.in, fixedSplit(size)), "writes of %d bytes", size)
			}
		})
	}
}

// TestRedactMatchesNaiveScan compares the table-driven scan with the rule
// written the slow way: at each position, the longest form that starts there.
func TestRedactMatchesNaiveScan(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	randText := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 2000 {
		var secrets []string
		for range 1 + rng.IntN(4) {
			secrets = append(secrets, randText("ab", 1+rng.IntN(5)))
		}
		r := NewRedactor(secrets...)
		in := randText("abx", rng.IntN(40))
		want := naiveRedact(r.load(), in)
		require.Equal(t, want, r.Redact(in), "seed %d secrets %q input %q", seed, secrets, in)
		require.Equal(t, want, writeSplit(t, r, in, randomSplit(rng)), "seed %d secrets %q input %q", seed, secrets, in)
	}
}

func naiveRedact(m *matcher, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		best := ""
		for f := range m.forms {
			if strings.HasPrefix(s[i:], f) && len(f) > len(best) {
				best = f
			}
		}
		if best == "" {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(Mask)
		i += len(best)
	}
	return b.String()
}

// encoder is one way a secret reaches a log.
type encoder struct {
	name   string
	encode func(string) string
}

var lowerHexRE = regexp.MustCompile(`%[0-9A-F]{2}`)

func unquoted(q string) string { return q[1 : len(q)-1] }

var encoders = []encoder{
	{"raw", func(s string) string { return s }},
	{"query", url.QueryEscape},
	{"query-lower", func(s string) string { return lowerHexRE.ReplaceAllStringFunc(url.QueryEscape(s), strings.ToLower) }},
	{"path", url.PathEscape},
	{"path-lower", func(s string) string { return lowerHexRE.ReplaceAllStringFunc(url.PathEscape(s), strings.ToLower) }},
	{"json", func(s string) string {
		b, err := json.Marshal(s)
		if err != nil {
			panic(err)
		}
		return unquoted(string(b))
	}},
	{"json-no-html", func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			panic(err)
		}
		return unquoted(strings.TrimSpace(b.String()))
	}},
	{"json-ascii", func(s string) string { return asciiOnly(jsonBody(s, false)) }}, // Python's json.dumps
	{"go-%q", func(s string) string { return unquoted(fmt.Sprintf("%q", s)) }},
	{"go-%+q", func(s string) string { return unquoted(fmt.Sprintf("%+q", s)) }},
	{"hcl", hclBody},
	{"bash-%q-utf8", func(s string) string {
		for _, r := range s {
			if r == utf8.RuneError || r < ' ' || r == 0x7f || r >= utf8.RuneSelf && !wprint(r) {
				return bashANSIC(s, true)
			}
		}
		return bashBackslash(s)
	}},
	{"bash-%q-c", func(s string) string {
		if printableASCII(s) {
			return bashBackslash(s)
		}
		return bashANSIC(s, false)
	}},
	{"single-quoted", func(s string) string { return strings.ReplaceAll(s, "'", `'\''`) }},
}

// secretAlphabet mixes what makes escaping go wrong. It has no '*': a
// secret made of stars could be rebuilt from a mask and its neighbours.
var secretAlphabet = []string{
	"a", "b", "Z", "q", "0", "7", "-", "_", ".", "/", "+", "=", ":", "~", "#", "@", "!", "?", "&", "<", ">",
	`'`, `"`, `\`, "$", "%", "{", "}", "${", "%{", " ", "\n", "\t", "\r", "\x01", "\x1b",
	"é", "€", "日", "😀",
}

func randomSecret(rng *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(secretAlphabet[rng.IntN(len(secretAlphabet))])
	}
	return b.String()
}

// TestRedactorPropertyEveryFormEverySplit writes random secrets, in every
// form, inside random text, through writers split at random, and checks the
// form never comes out, the writer agrees with Redact, and the writer holds
// back nothing that could not start a form.
func TestRedactorPropertyEveryFormEverySplit(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	for iter := range 200 {
		secret := randomSecret(rng, 1+rng.IntN(300))
		r := NewRedactor(secret)
		m := r.load()
		cases := make([]encoder, len(encoders), len(encoders)+1)
		copy(cases, encoders)
		if lines := longLines(secret); len(lines) > 0 {
			line := lines[rng.IntN(len(lines))]
			cases = append(cases, encoder{"line", func(string) string { return line }})
		}
		for _, enc := range cases {
			form := enc.encode(secret)
			in := randomSecret(rng, rng.IntN(200)) + form + randomSecret(rng, rng.IntN(200))
			if rng.IntN(4) == 0 {
				in += form
			}
			var out bytes.Buffer
			w := r.Writer(&out)
			split := randomSplit(rng)
			for p := in; p != ""; {
				n := min(split(), len(p))
				if written, err := w.Write([]byte(p[:n])); err != nil || written != n {
					t.Fatalf("Write = %d, %v; want %d, nil", written, err, n)
				}
				p = p[n:]
				checkHeld(t, m, w.(*redactWriter).held, seed)
			}
			require.NoError(t, w.Close())
			msg := fmt.Sprintf("seed %d iteration %d form %s secret %q", seed, iter, enc.name, secret)
			require.NotContains(t, out.String(), form, msg)
			require.Equal(t, r.Redact(in), out.String(), msg)
		}
	}
}

// checkHeld asserts the hold-back rule: what a writer keeps is a proper
// prefix of some form, so shorter than the longest.
func checkHeld(t *testing.T, m *matcher, held []byte, seed uint64) {
	if len(held) == 0 {
		return
	}
	if len(held) < m.maxLen {
		for f := range m.forms {
			if len(f) > len(held) && strings.HasPrefix(f, string(held)) {
				return
			}
		}
	}
	t.Helper()
	t.Fatalf("seed %d: held back %q, which is no proper prefix of a form", seed, held)
}

// longLines returns the lines of a multi-line s that are secrets on their own.
func longLines(s string) []string {
	if !strings.ContainsAny(s, "\r\n") {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		for _, l := range strings.Split(l, "\r") {
			if l = strings.TrimSpace(l); len([]rune(l)) >= minLineLen && l != s {
				lines = append(lines, l)
			}
		}
	}
	return lines
}

func TestWriterLongLine(t *testing.T) {
	const secret = "tok-3f9a-77c1-secret-value"
	const size = 1 << 20
	filler := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "across-64KiB-boundary",
			in:   filler(64<<10-10) + secret + filler(size-64<<10+10-len(secret)),
			want: filler(64<<10-10) + Mask + filler(size-64<<10+10-len(secret)),
		},
		{
			name: "at-end",
			in:   filler(size-len(secret)) + secret,
			want: filler(size-len(secret)) + Mask,
		},
	}
	r := NewRedactor(secret)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Len(t, tt.in, size)
			for _, chunk := range []int{size, 64 << 10, 4096, 1000} {
				got := writeSplit(t, r, tt.in, fixedSplit(chunk))
				require.Equal(t, len(tt.want), len(got), "chunks of %d", chunk)
				assert.True(t, got == tt.want, "chunks of %d: output differs", chunk)
			}
		})
	}
}

func TestWriterPEMKey(t *testing.T) {
	var key strings.Builder
	key.WriteString("-----BEGIN PRIVATE KEY-----\n")
	rng := rand.New(rand.NewPCG(7, 7))
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for range 20 {
		for range 64 {
			key.WriteByte(b64[rng.IntN(len(b64))])
		}
		key.WriteByte('\n')
	}
	key.WriteString("-----END PRIVATE KEY-----")
	secret := key.String()
	lines := strings.SplitAfter(secret, "\n")
	r := NewRedactor(secret)
	in := "before\n" + secret + "\nafter\n"

	t.Run("line-by-line", func(t *testing.T) {
		var out bytes.Buffer
		w := r.Writer(&out)
		for _, l := range strings.SplitAfter(in, "\n") {
			_, err := io.WriteString(w, l)
			require.NoError(t, err)
		}
		require.NoError(t, w.Close())
		assert.Equal(t, "before\n***\nafter\n", out.String())
	})
	t.Run("byte-by-byte", func(t *testing.T) {
		assert.Equal(t, "before\n***\nafter\n", writeSplit(t, r, in, fixedSplit(1)))
	})
	t.Run("indented", func(t *testing.T) {
		var indented, want strings.Builder
		for _, l := range lines {
			indented.WriteString("    " + l)
			want.WriteString("    ***" + l[len(strings.TrimRight(l, "\n")):])
		}
		assert.Equal(t, want.String(), writeSplit(t, r, indented.String(), fixedSplit(5)))
	})
	t.Run("one-line", func(t *testing.T) {
		assert.Equal(t, "line: ***\n", writeSplit(t, r, "line: "+lines[3], fixedSplit(1)))
	})
	t.Run("json", func(t *testing.T) {
		b, err := json.Marshal(map[string]string{"key": secret})
		require.NoError(t, err)
		assert.Equal(t, `{"key":"***"}`, writeSplit(t, r, string(b), fixedSplit(7)))
	})
}

func TestAddWhileWriterHoldsPartialMatch(t *testing.T) {
	r := NewRedactor("abcdefgh")
	var out bytes.Buffer
	w := r.Writer(&out)
	_, err := io.WriteString(w, "xx abcd")
	require.NoError(t, err)
	assert.Equal(t, "xx ", out.String(), "abcd could start the secret: held back")

	r.Add("abcd1234")
	_, err = io.WriteString(w, "1234 yy abcdefgh")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, "xx *** yy ***", out.String())
}

func TestConcurrentAddAndWrite(t *testing.T) {
	r := NewRedactor("always-secret")
	out := &testtools.Buffer{}
	w := r.Writer(out)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				_, err := fmt.Fprintf(w, "g%d line %d always-secret\n", g, i)
				assert.NoError(t, err)
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			r.Add(fmt.Sprintf("added-%d-value", i))
			_ = r.Redact("added-1-value")
		}
	})
	wg.Wait()
	require.NoError(t, w.Close())
	assert.NotContains(t, out.String(), "always-secret")
	assert.Equal(t, 800, strings.Count(out.String(), "***"))
	assert.Equal(t, 51, r.Secrets())
}

// recorder keeps each write it receives.
type recorder struct{ writes [][]byte }

func (r *recorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func TestWriterWithoutSecretsPassesWritesThrough(t *testing.T) {
	writes := []string{"partial li", "ne\nmore", "", "x", strings.Repeat("y", 100<<10)}
	for name, r := range map[string]*Redactor{"nil": nil, "zero": {}, "new": NewRedactor()} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			w := r.Writer(rec)
			for i, s := range writes {
				n, err := io.WriteString(w, s)
				require.NoError(t, err)
				assert.Equal(t, len(s), n)
				require.Len(t, rec.writes, i+1, "nothing held back")
				assert.Equal(t, s, string(rec.writes[i]))
			}
			require.NoError(t, w.Close())
			assert.Len(t, rec.writes, len(writes), "Close writes nothing more")
		})
	}
}

func TestWriterEmitsPromptly(t *testing.T) {
	r := NewRedactor("secret-value")
	rec := &recorder{}
	w := r.Writer(rec)
	_, err := io.WriteString(w, "progress 10% no newline yet secr")
	require.NoError(t, err)
	require.Len(t, rec.writes, 1)
	assert.Equal(t, "progress 10% no newline yet ", string(rec.writes[0]), "only a possible start of the secret is held")
	_, err = io.WriteString(w, "ecy")
	require.NoError(t, err)
	require.Len(t, rec.writes, 2)
	assert.Equal(t, "secrecy", string(rec.writes[1]))
}

type failingWriter struct{ err error }

func (f failingWriter) Write(p []byte) (int, error) { return 0, f.err }

func TestWriterReturnsUnderlyingErrorNotShortWrite(t *testing.T) {
	boom := errors.New("disk full")
	for name, r := range map[string]*Redactor{"no-secret": nil, "secret": NewRedactor("pw-123")} {
		t.Run(name, func(t *testing.T) {
			w := r.Writer(failingWriter{boom})
			n, err := w.Write([]byte("text pw-123 more"))
			assert.Equal(t, len("text pw-123 more"), n)
			require.ErrorIs(t, err, boom)
		})
	}
}

// TestShellFormsMatchBash checks the shell forms against what bash's
// printf %q writes, under the C locale and a UTF-8 one.
func TestShellFormsMatchBash(t *testing.T) {
	bash := testtools.Need(t, "bash", "apt-get install bash")
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	var values []string
	for range 300 {
		values = append(values, randomSecret(rng, 1+rng.IntN(30)))
	}
	values = append(values, "~home", "a=~b", "#comment", "a#b", "\u00a0nbsp", "\ufeffbom", "a\u2028b", "\xffbad", "a\xc3")
	for _, locale := range []string{"C", "C.UTF-8"} {
		t.Run(locale, func(t *testing.T) {
			probe := exec.Command(bash, "-c", `printf %q é`)
			probe.Env = append(os.Environ(), "LC_ALL="+locale)
			if out, err := probe.Output(); err != nil || locale != "C" && strings.HasPrefix(string(out), "$'") {
				testtools.Missing(t, "bash cannot use the "+locale+" locale")
			}
			cmd := exec.Command(bash, append([]string{"-c", `for a; do printf '%q\0' "$a"; done`, "_"}, values...)...)
			cmd.Env = append(os.Environ(), "LC_ALL="+locale)
			out, err := cmd.Output()
			require.NoError(t, err)
			quoted := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
			require.Len(t, quoted, len(values))
			for i, v := range values {
				q := quoted[i]
				if strings.HasPrefix(q, "$'") {
					q = q[2 : len(q)-1]
				}
				assert.Equal(t, Mask, NewRedactor(v).Redact(q), "seed %d: bash %s wrote %q as %s", seed, locale, v, quoted[i])
			}
		})
	}
}

// testSeed returns the seed of a randomized test, from DRILL_TEST_SEED to
// replay a failure, and logs it.
func testSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("DRILL_TEST_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "DRILL_TEST_SEED")
	}
	t.Logf("seed %d (replay with DRILL_TEST_SEED=%d)", seed, seed)
	return seed
}

func fixedSplit(n int) func() int { return func() int { return n } }

// randomSplit picks how a text is cut into writes: a byte at a time, all at
// once, or pieces of random small or large sizes.
func randomSplit(rng *rand.Rand) func() int {
	switch rng.IntN(4) {
	case 0:
		return fixedSplit(1)
	case 1:
		return fixedSplit(1 << 30)
	case 2:
		return func() int { return 1 + rng.IntN(16) }
	default:
		return func() int { return 1 + rng.IntN(512) }
	}
}

// writeSplit writes in through a writer of r in pieces sized by split and
// returns what came out.
func writeSplit(t *testing.T, r *Redactor, in string, split func() int) string {
	t.Helper()
	var out bytes.Buffer
	w := r.Writer(&out)
	for p := in; p != ""; {
		n := min(split(), len(p))
		written, err := w.Write([]byte(p[:n]))
		require.NoError(t, err)
		require.Equal(t, n, written)
		p = p[n:]
	}
	require.NoError(t, w.Close())
	return out.String()
}

var benchLog = func() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 64<<10; i++ {
		fmt.Fprintf(&b, "2025-05-01T12:00:%02d.123Z INFO apply step=deploy resource=\"aws_instance.web[%d]\" msg=\"Still creating... [%ds elapsed]\"\n", i%60, i, i*10)
	}
	return b.Bytes()
}()

func BenchmarkRedactWriter(b *testing.B) {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	rng := rand.New(rand.NewPCG(1, 1))
	pemLines := []string{"-----BEGIN PRIVATE KEY-----"}
	for range 25 {
		line := make([]byte, 64)
		for i := range line {
			line[i] = b64[rng.IntN(len(b64))]
		}
		pemLines = append(pemLines, string(line))
	}
	pemLines = append(pemLines, "-----END PRIVATE KEY-----")
	many := []string{strings.Join(pemLines, "\n")}
	for i := range 20 {
		many = append(many, fmt.Sprintf("tok_%d_%x", i, rng.Uint64()))
	}
	for _, bc := range []struct {
		name    string
		secrets []string
	}{
		{"no-secret", nil},
		{"one-secret", []string{"s3cr3t-t0ken-value"}},
		{"pem-and-20-tokens", many},
	} {
		r := NewRedactor(bc.secrets...)
		b.Run(bc.name, func(b *testing.B) {
			w := r.Writer(io.Discard)
			b.SetBytes(int64(len(benchLog)))
			b.ReportAllocs()
			for b.Loop() {
				for p := benchLog; len(p) > 0; p = p[min(4096, len(p)):] {
					if _, err := w.Write(p[:min(4096, len(p))]); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func BenchmarkRedact(b *testing.B) {
	r := NewRedactor("s3cr3t-t0ken-value")
	s := string(benchLog[:4096])
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Redact(s)
	}
}
