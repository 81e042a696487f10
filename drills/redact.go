package drills

import (
	"bytes"
	"io"
	"sort"
	"strings"
	"sync"
)

// Mask replaces every secret value wherever it appears.
const Mask = "***"

// Redactor masks secret values in text. It is safe for concurrent use; the
// zero value and nil redact nothing.
type Redactor struct {
	mu       sync.RWMutex
	replacer *strings.Replacer
	secrets  []string
}

// NewRedactor returns a Redactor for the given secret values. Empty values are
// ignored: masking "" would mask everything.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers more secret values, such as Terraform outputs marked sensitive.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, s := range r.secrets {
		pairs = append(pairs, s, Mask)
	}
	r.replacer = strings.NewReplacer(pairs...)
}

// Redact returns s with every secret masked.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.replacer == nil {
		return s
	}
	return r.replacer.Replace(s)
}

// maxSecretLen is the longest registered secret, which bounds how much of a
// line the Writer must hold back to catch a secret split across writes.
func (r *Redactor) maxSecretLen() int {
	if r == nil {
		return 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.secrets) == 0 {
		return 0
	}
	return len(r.secrets[0])
}

// Writer returns a writer that redacts what passes through it before it
// reaches w. It holds back a partial line until a newline or Close, so that a
// secret split across two writes is still masked. Close flushes; it does not
// close w.
func (r *Redactor) Writer(w io.Writer) io.WriteCloser {
	return &redactWriter{r: r, w: w}
}

type redactWriter struct {
	mu  sync.Mutex
	r   *Redactor
	w   io.Writer
	buf []byte
}

// pendingLimit bounds the bytes held back for a line that never ends (a
// progress bar, a binary blob), so memory stays small.
const pendingLimit = 64 << 10

func (rw *redactWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.buf = append(rw.buf, p...)
	cut := bytes.LastIndexByte(rw.buf, '\n') + 1
	if cut == 0 && len(rw.buf) > pendingLimit {
		// Keep the tail that could be the start of a secret.
		keep := rw.r.maxSecretLen()
		cut = len(rw.buf) - keep
	}
	if cut > 0 {
		if _, err := io.WriteString(rw.w, rw.r.Redact(string(rw.buf[:cut]))); err != nil {
			return 0, err
		}
		rw.buf = append(rw.buf[:0], rw.buf[cut:]...)
	}
	return len(p), nil
}

func (rw *redactWriter) Close() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(rw.w, rw.r.Redact(string(rw.buf)))
	rw.buf = rw.buf[:0]
	return err
}
