package drills

import (
	"io"
	"strings"
	"sync"
	"sync/atomic"
)

// Mask replaces every secret value wherever it appears, in every form.
const Mask = "***"

// Redactor masks secret values in text: each value as is, each line of a
// multi-line value that is at least 12 characters long once trimmed, and each
// of these as URLs, JSON, Go, HCL and shells escape them (see formsOf). It is
// safe for concurrent use, Add included; the zero value and nil redact
// nothing.
type Redactor struct {
	mu sync.Mutex // serializes Add
	m  atomic.Pointer[matcher]
}

// NewRedactor returns a Redactor for the given secret values. Empty values are
// ignored: masking "" would mask everything.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers more secret values, such as Terraform outputs marked
// sensitive. Writers in use see them from their next Write on, including in
// the text they hold back. Add needs a non-nil Redactor and panics on nil,
// as a write to a nil map does: a secret must never be dropped silently.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.m.Load()
	if m := old.with(secrets); m != old {
		r.m.Store(m)
	}
}

// Secrets returns how many distinct secret values are registered.
func (r *Redactor) Secrets() int {
	if m := r.load(); m != nil {
		return len(m.values)
	}
	return 0
}

func (r *Redactor) load() *matcher {
	if r == nil {
		return nil
	}
	return r.m.Load()
}

// Redact returns s with every secret masked.
func (r *Redactor) Redact(s string) string {
	m := r.load()
	if m == nil {
		return s
	}
	j, n, _ := next(m, s, 0, true)
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for n > 0 {
		b.WriteString(s[i:j])
		b.WriteString(Mask)
		i = j + n
		j, n, _ = next(m, s, i, true)
	}
	b.WriteString(s[i:])
	return b.String()
}

// RedactBytes returns b with every secret masked. When nothing is masked it
// returns b itself.
func (r *Redactor) RedactBytes(b []byte) []byte {
	m := r.load()
	if m == nil {
		return b
	}
	out, _ := redact(m, nil, b, true)
	if out == nil {
		return b
	}
	return out
}

// redact appends to dst the redaction of data and returns it with where the
// undecided tail starts (len(data) when final). When data holds no form
// before that tail, it returns dst nil, so the caller can use data[:end]
// without a copy.
func redact(m *matcher, dst, data []byte, final bool) (out []byte, end int) {
	i := 0
	for {
		j, n, _ := next(m, data, i, final)
		if n == 0 {
			if i == 0 {
				return nil, j
			}
			return append(dst, data[i:j]...), j
		}
		dst = append(dst, data[i:j]...)
		dst = append(dst, Mask...)
		i = j + n
	}
}

// Writer returns a writer that masks what passes through it before it
// reaches w. So that a secret split across writes is still masked, it holds
// back the tail of what it was given that could still be the start of a
// secret's form (never more than the longest form less one byte), and writes
// everything else at once, in one write to w. The output is the same as
// Redact of everything written, however it was split (while no secret is
// added meanwhile: one added later is masked in what is still held back, not
// in what was already written). With no secret registered it passes writes
// through as they are. Close writes what is held back; it does not close w.
func (r *Redactor) Writer(w io.Writer) io.WriteCloser {
	return &redactWriter{r: r, w: w}
}

// redactWriter is the Writer of a Redactor. Its mutex keeps concurrent
// writes (a step's stdout and stderr share one) whole and in order.
type redactWriter struct {
	mu      sync.Mutex
	r       *Redactor
	w       io.Writer
	held    []byte // the undecided tail of what was written
	scratch []byte // held followed by the next write
	out     []byte // the redacted output of one write
}

// scratchLimit is the capacity above which a writer drops its buffers after
// a write instead of keeping them for the next, so that one huge write does
// not pin its size in memory for the rest of a step.
const scratchLimit = 64 << 10

// Write never reports holding back as a short write: it returns len(p), and
// the error of the underlying writer.
func (rw *redactWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	m := rw.r.load()
	if m == nil && len(rw.held) == 0 {
		return len(p), writeAll(rw.w, p)
	}
	data := p
	if len(rw.held) > 0 {
		rw.scratch = append(append(rw.scratch[:0], rw.held...), p...)
		data = rw.scratch
	}
	err := rw.flush(m, data, false)
	if cap(rw.scratch) > scratchLimit {
		rw.scratch = nil
	}
	return len(p), err
}

// Close writes the held-back tail, redacted.
func (rw *redactWriter) Close() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.held) == 0 {
		return nil
	}
	return rw.flush(rw.r.load(), rw.held, true)
}

// flush writes the redaction of data up to its undecided tail, which it
// keeps in held (data may alias held).
func (rw *redactWriter) flush(m *matcher, data []byte, final bool) error {
	var out []byte
	end := len(data)
	if m != nil {
		out, end = redact(m, rw.out[:0], data, final)
	}
	var err error
	switch {
	case out != nil:
		err = writeAll(rw.w, out)
		rw.out = out[:0]
		if cap(rw.out) > scratchLimit {
			rw.out = nil
		}
	case end > 0:
		err = writeAll(rw.w, data[:end])
	}
	rw.held = append(rw.held[:0], data[end:]...)
	return err
}

// writeAll writes b to w, turning a short write without an error into one.
func writeAll(w io.Writer, b []byte) error {
	n, err := w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	return err
}
