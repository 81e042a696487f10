// Package http is the `http:` action of a scenario: poll a URL until the
// response has the expected status and a body matching a regular expression,
// or a time window passes. It is how a drill checks that what it deployed
// actually serves, rather than trusting that the deploy script exited 0.
//
// Timing uses only time.Now, time.Timer and context deadlines, so tests may
// run it inside a testing/synctest bubble.
package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
)

const (
	// DefaultStatus is the expected status when Spec.Status is 0.
	DefaultStatus = nethttp.StatusOK
	// DefaultInterval is the pause between attempts when Spec.Interval is 0.
	DefaultInterval = time.Second
	// MaxRequestTimeout bounds one attempt, so that a server that accepts
	// and never answers still leaves time for more attempts.
	MaxRequestTimeout = 10 * time.Second
	// MaxBody is how much of a body is read and matched; the rest is ignored,
	// so a huge response cannot exhaust memory.
	MaxBody = 1 << 20
	// excerptLen bounds the body shown in logs and errors.
	excerptLen = 200
)

// Spec is one HTTP check with every ${NAME} already expanded.
type Spec struct {
	URL string
	// Method defaults to GET.
	Method  string
	Headers map[string]string
	// Status is the expected response status; 0 means 200. Redirects are
	// followed unless a 3xx status is expected.
	Status int
	// Body is a regular expression the body must match; empty matches any body.
	Body string
	// Within is how long to keep trying: attempts start and end inside this
	// window, and a new one starts only if at least one Interval of the
	// window is left for it. 0 means a single attempt.
	Within time.Duration
	// Interval is the pause between attempts; 0 means DefaultInterval.
	Interval time.Duration
}

// SpecError says a Spec cannot be run: a bad URL, method, header, status or
// regular expression. It is a scenario error, not a failed check.
type SpecError struct {
	Field string // "url", "method", "headers", "status", "body", "within", "interval"
	Err   error
}

func (e *SpecError) Error() string { return "http " + e.Field + ": " + e.Err.Error() }
func (e *SpecError) Unwrap() error { return e.Err }

// Validate reports the first problem of s, as a *SpecError.
func (s Spec) Validate() error {
	_, err := s.compile()
	return err
}

// compile checks s and returns its body expression.
func (s Spec) compile() (*regexp.Regexp, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil, &SpecError{Field: "url", Err: err}
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, &SpecError{Field: "url", Err: fmt.Errorf("%q is not an absolute http or https URL", s.URL)}
	}
	if _, err := nethttp.NewRequest(s.method(), s.URL, nil); err != nil {
		return nil, &SpecError{Field: "method", Err: err}
	}
	for k, v := range s.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			return nil, &SpecError{Field: "headers", Err: fmt.Errorf("invalid header name %q", k)}
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, &SpecError{Field: "headers", Err: fmt.Errorf("header %s: value contains a line break", k)}
		}
	}
	if s.Status != 0 && (s.Status < 100 || s.Status > 599) {
		return nil, &SpecError{Field: "status", Err: fmt.Errorf("%d is not an HTTP status", s.Status)}
	}
	if s.Within < 0 {
		return nil, &SpecError{Field: "within", Err: fmt.Errorf("negative duration %s", s.Within)}
	}
	if s.Interval < 0 {
		return nil, &SpecError{Field: "interval", Err: fmt.Errorf("negative duration %s", s.Interval)}
	}
	re, err := regexp.Compile(s.Body)
	if err != nil {
		return nil, &SpecError{Field: "body", Err: err}
	}
	return re, nil
}

func (s Spec) method() string {
	if s.Method == "" {
		return nethttp.MethodGet
	}
	return strings.ToUpper(s.Method)
}

func (s Spec) status() int {
	if s.Status == 0 {
		return DefaultStatus
	}
	return s.Status
}

func (s Spec) interval() time.Duration {
	if s.Interval == 0 {
		return DefaultInterval
	}
	return s.Interval
}

// MismatchError says no response matched within the window, and what the last
// attempt got, so the step's error alone tells what the service answered.
type MismatchError struct {
	Method, URL string
	Attempts    int
	Within      time.Duration
	WantStatus  int
	WantBody    string
	// Status is the last response's status, 0 when the last attempt got none.
	Status int
	// Body is an excerpt of the last response's body.
	Body string
	// Err is why the last attempt got no response (connection refused, timeout).
	Err error
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: no matching response", e.Method, e.URL)
	if e.Within > 0 {
		fmt.Fprintf(&b, " within %s", e.Within)
	}
	fmt.Fprintf(&b, " after %d attempt%s: ", e.Attempts, plural(e.Attempts))
	if e.Err != nil {
		fmt.Fprintf(&b, "last attempt failed: %v", e.Err)
	} else {
		fmt.Fprintf(&b, "last response %s with body %s", statusText(e.Status), e.Body)
	}
	fmt.Fprintf(&b, " (want status %d", e.WantStatus)
	if e.WantBody != "" {
		fmt.Fprintf(&b, " and body matching %q", e.WantBody)
	}
	b.WriteString(")")
	return b.String()
}

func (e *MismatchError) Unwrap() error { return e.Err }

// New returns a step that polls spec.URL. An invalid spec is reported by Run
// as a *SpecError before any request; call Spec.Validate to find it earlier.
func New(spec Spec) drills.Step {
	re, err := spec.compile()
	return &step{spec: spec, body: re, err: err}
}

type step struct {
	spec Spec
	body *regexp.Regexp
	err  error
	// transport replaces the network in tests; nil means a fresh
	// http.Transport per Run.
	transport nethttp.RoundTripper
}

// result is what one attempt got.
type result struct {
	status  int
	body    []byte
	err     error
	matched bool
}

// Run polls until a response matches, the window passes (*MismatchError), or
// ctx ends (an error wrapping context.Cause(ctx) and ctx.Err()).
func (s *step) Run(ctx context.Context, env *drills.Env) error {
	if s.err != nil {
		return s.err
	}
	method, want, interval := s.spec.method(), s.spec.status(), s.spec.interval()
	out := env.Output()
	client := s.client()
	defer client.CloseIdleConnections()

	fmt.Fprintf(out, "%s %s: want status %d", method, s.spec.URL, want)
	if s.spec.Body != "" {
		fmt.Fprintf(out, " and body matching %q", s.spec.Body)
	}
	if s.spec.Within > 0 {
		fmt.Fprintf(out, ", within %s every %s", s.spec.Within, interval)
	}
	fmt.Fprintln(out)

	start := time.Now()
	deadline := start.Add(s.spec.Within)
	var last result
	for attempt := 1; ; attempt++ {
		timeout := MaxRequestTimeout
		if s.spec.Within > 0 {
			timeout = min(timeout, time.Until(deadline))
		}
		last = s.try(ctx, client, method, want, timeout)
		fmt.Fprintf(out, "+%s attempt %d: %s\n", offset(time.Since(start)), attempt, describe(last))
		if last.matched {
			env.ZapLogger().Debug("http check matched", zap.Int("attempts", attempt))
			return nil
		}
		if ctx.Err() != nil {
			return s.stopped(ctx, attempt, last)
		}
		mismatch := &MismatchError{
			Method: method, URL: s.spec.URL, Attempts: attempt, Within: s.spec.Within,
			WantStatus: want, WantBody: s.spec.Body,
			Status: last.status, Body: excerpt(last.body), Err: last.err,
		}
		// Another attempt must start inside the window and have at least one
		// interval to get its answer: an attempt cut after a few microseconds
		// would only hide what the previous one got.
		if time.Now().Add(2 * interval).After(deadline) {
			return mismatch
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return s.stopped(ctx, attempt, last)
		case <-t.C:
		}
		if !time.Now().Before(deadline) { // the timer fired late
			return mismatch
		}
	}
}

// client returns a client that connects directly (drill's own proxy
// variables are not the step's environment) and opens a new connection per
// attempt, so a restarted server is seen as it is now.
func (s *step) client() *nethttp.Client {
	rt := s.transport
	if rt == nil {
		tr := nethttp.DefaultTransport.(*nethttp.Transport).Clone()
		tr.Proxy = nil
		tr.DisableKeepAlives = true
		rt = tr
	}
	c := &nethttp.Client{Transport: rt}
	if want := s.spec.status(); want >= 300 && want < 400 {
		c.CheckRedirect = func(*nethttp.Request, []*nethttp.Request) error { return nethttp.ErrUseLastResponse }
	}
	return c
}

// try makes one request bounded by timeout and matches its response.
func (s *step) try(parent context.Context, client *nethttp.Client, method string, want int, timeout time.Duration) result {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	// An attempt cut by its own bound is a failed check, not a step timeout:
	// its error must not unwrap to context.DeadlineExceeded.
	bounded := func(err error) error {
		if parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no response within %s", timeout)
		}
		return err
	}
	req, err := nethttp.NewRequestWithContext(ctx, method, s.spec.URL, nil)
	if err != nil {
		return result{err: err}
	}
	for k, v := range s.spec.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{err: bounded(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return result{status: resp.StatusCode, body: body, err: fmt.Errorf("read body: %w", bounded(err))}
	}
	return result{
		status:  resp.StatusCode,
		body:    body,
		matched: resp.StatusCode == want && s.body.Match(body),
	}
}

// stopped is Run's error when ctx ended first; it keeps the last answer
// because "timed out while the service said 503" is the useful part.
func (s *step) stopped(ctx context.Context, attempts int, last result) error {
	cause, err := context.Cause(ctx), ctx.Err()
	if cause != err {
		cause = fmt.Errorf("%w (%w)", cause, err)
	}
	return fmt.Errorf("%s %s: stopped after %d attempt%s, last %s: %w",
		s.spec.method(), s.spec.URL, attempts, plural(attempts), describe(last), cause)
}

// describe is one attempt in a few words, for the log line.
func describe(r result) string {
	switch {
	case r.err != nil && r.status == 0:
		return "error: " + r.err.Error()
	case r.err != nil:
		return statusText(r.status) + ", error: " + r.err.Error()
	case r.matched:
		return statusText(r.status) + ", matched"
	default:
		return statusText(r.status) + ", body " + excerpt(r.body)
	}
}

func statusText(code int) string {
	if t := nethttp.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}

// excerpt quotes the start of a body, marking a cut.
func excerpt(b []byte) string {
	if len(b) <= excerptLen {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q...", b[:excerptLen])
}

// offset formats the time since the first attempt in milliseconds, so log
// lines line up and stay short.
func offset(d time.Duration) string {
	return fmt.Sprintf("%.3fs", d.Seconds())
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
