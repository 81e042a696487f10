package http_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	drillhttp "github.com/redeploy-drill/drill/drills/http"
	"github.com/redeploy-drill/drill/internal/testtools"
)

func newEnv() (*drills.Env, *testtools.Buffer) {
	log := &testtools.Buffer{}
	return &drills.Env{Log: log}, log
}

// attemptLines returns the log lines of attempts, one per request.
func attemptLines(log string) []string {
	var lines []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " attempt ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// server answers every request with handler and counts them.
func server(t *testing.T, handler func(n int64, w nethttp.ResponseWriter, r *nethttp.Request)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		handler(n.Add(1), w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func reply(status int, body string) func(int64, nethttp.ResponseWriter, *nethttp.Request) {
	return func(_ int64, w nethttp.ResponseWriter, _ *nethttp.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func TestRunImmediateMatch(t *testing.T) {
	srv, n := server(t, reply(200, "ok\n"))
	env, log := newEnv()

	err := drillhttp.New(drillhttp.Spec{URL: srv.URL + "/healthz", Body: `^ok\n$`, Within: 10 * time.Second}).Run(t.Context(), env)

	require.NoError(t, err)
	assert.Equal(t, int64(1), n.Load())
	lines := attemptLines(log.String())
	require.Len(t, lines, 1)
	assert.Regexp(t, `^\+\d+\.\d{3}s attempt 1: 200 OK, matched$`, lines[0])
}

func TestRunMatchAfterFailures(t *testing.T) {
	srv, n := server(t, func(n int64, w nethttp.ResponseWriter, _ *nethttp.Request) {
		if n <= 3 {
			w.WriteHeader(503)
			_, _ = w.Write([]byte("starting"))
			return
		}
		_, _ = w.Write([]byte("ready"))
	})
	env, log := newEnv()

	err := drillhttp.New(drillhttp.Spec{URL: srv.URL, Status: 200, Body: "ready",
		Within: 30 * time.Second, Interval: 10 * time.Millisecond}).Run(t.Context(), env)

	require.NoError(t, err)
	assert.Equal(t, int64(4), n.Load(), "three failures, then the match, then no more requests")
	lines := attemptLines(log.String())
	require.Len(t, lines, 4)
	for i, l := range lines[:3] {
		assert.Contains(t, l, `503 Service Unavailable, body "starting"`, "attempt %d", i+1)
	}
	assert.Contains(t, lines[3], "attempt 4: 200 OK, matched")
}

func TestRunBodyMismatchUntilWithin(t *testing.T) {
	srv, n := server(t, reply(200, "not yet"))
	env, log := newEnv()
	spec := drillhttp.Spec{URL: srv.URL, Body: "^ready$", Within: 500 * time.Millisecond, Interval: 50 * time.Millisecond}

	err := drillhttp.New(spec).Run(t.Context(), env)

	var mm *drillhttp.MismatchError
	require.ErrorAs(t, err, &mm)
	assert.Equal(t, 200, mm.Status)
	assert.Equal(t, `"not yet"`, mm.Body)
	assert.NoError(t, mm.Err)
	assert.Greater(t, mm.Attempts, 1, "it must have polled")
	assert.Equal(t, int64(mm.Attempts), n.Load())
	assert.Len(t, attemptLines(log.String()), mm.Attempts)
	assert.Equal(t, "GET "+srv.URL+`: no matching response within 500ms after `+strconv.Itoa(mm.Attempts)+
		` attempts: last response 200 OK with body "not yet" (want status 200 and body matching "^ready$")`, err.Error())
}

func TestRunConnectionRefusedUntilWithin(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + l.Addr().String() + "/"
	require.NoError(t, l.Close())
	env, log := newEnv()

	err = drillhttp.New(drillhttp.Spec{URL: url, Within: 500 * time.Millisecond, Interval: 50 * time.Millisecond}).Run(t.Context(), env)

	var mm *drillhttp.MismatchError
	require.ErrorAs(t, err, &mm)
	assert.Equal(t, 0, mm.Status)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.Greater(t, mm.Attempts, 1)
	assert.Contains(t, err.Error(), "last attempt failed: ")
	assert.Contains(t, err.Error(), "connection refused")
	assert.Contains(t, log.String(), "attempt 1: error: ")
}

func TestRunStatusMismatchWithoutWithinTriesOnce(t *testing.T) {
	srv, n := server(t, reply(500, "boom"))
	env, _ := newEnv()

	err := drillhttp.New(drillhttp.Spec{URL: srv.URL}).Run(t.Context(), env)

	var mm *drillhttp.MismatchError
	require.ErrorAs(t, err, &mm)
	assert.Equal(t, 1, mm.Attempts)
	assert.Equal(t, int64(1), n.Load())
	assert.Equal(t, 500, mm.Status)
	assert.Equal(t, 200, mm.WantStatus)
	assert.Contains(t, err.Error(), `after 1 attempt: last response 500 Internal Server Error with body "boom" (want status 200)`)
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	cause := &drills.TimeoutError{What: "step", Timeout: time.Minute}
	tests := []struct {
		name string
		// ctx returns the step's context; cancel is what the server calls on
		// the first request (nil: the context ends by itself).
		ctx       func(t *testing.T) (context.Context, func())
		within    time.Duration
		wantIs    error
		wantCause bool
	}{
		{
			name: "canceled-wraps-context-canceled",
			ctx: func(t *testing.T) (context.Context, func()) {
				ctx, cancel := context.WithCancel(t.Context())
				t.Cleanup(cancel)
				return ctx, cancel
			},
			within: time.Hour,
			wantIs: context.Canceled,
		},
		{
			// The only attempt is also the last: being canceled still wins
			// over "no match".
			name: "canceled-during-single-attempt-is-not-a-mismatch",
			ctx: func(t *testing.T) (context.Context, func()) {
				ctx, cancel := context.WithCancel(t.Context())
				t.Cleanup(cancel)
				return ctx, cancel
			},
			within: 0,
			wantIs: context.Canceled,
		},
		{
			name: "canceled-with-cause-wraps-the-cause",
			ctx: func(t *testing.T) (context.Context, func()) {
				ctx, cancel := context.WithCancelCause(t.Context())
				t.Cleanup(func() { cancel(nil) })
				return ctx, func() { cancel(cause) }
			},
			within:    time.Hour,
			wantIs:    context.Canceled,
			wantCause: true,
		},
		{
			name: "deadline-with-cause-wraps-the-cause",
			ctx: func(t *testing.T) (context.Context, func()) {
				ctx, cancel := context.WithTimeoutCause(t.Context(), 200*time.Millisecond, cause)
				t.Cleanup(cancel)
				return ctx, nil
			},
			within:    time.Hour,
			wantIs:    context.DeadlineExceeded,
			wantCause: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx(t)
			srv, _ := server(t, func(n int64, w nethttp.ResponseWriter, _ *nethttp.Request) {
				if n == 1 && cancel != nil {
					cancel()
				}
				w.WriteHeader(503)
			})
			env, _ := newEnv()

			err := drillhttp.New(drillhttp.Spec{URL: srv.URL, Within: tt.within, Interval: 10 * time.Millisecond}).Run(ctx, env)

			require.ErrorIs(t, err, tt.wantIs)
			var mm *drillhttp.MismatchError
			assert.False(t, errors.As(err, &mm), "a stopped check is not a mismatch: %v", err)
			var te *drills.TimeoutError
			assert.Equal(t, tt.wantCause, errors.As(err, &te), "TimeoutError cause in %v", err)
			assert.Contains(t, err.Error(), "GET "+srv.URL+": stopped after ")
		})
	}
}

func TestRunAttemptBoundIsNotAStepTimeout(t *testing.T) {
	srv, _ := server(t, func(_ int64, _ nethttp.ResponseWriter, r *nethttp.Request) {
		<-r.Context().Done() // accepts, never answers
	})
	env, _ := newEnv()

	err := drillhttp.New(drillhttp.Spec{URL: srv.URL, Within: 300 * time.Millisecond, Interval: 10 * time.Millisecond}).Run(t.Context(), env)

	var mm *drillhttp.MismatchError
	require.ErrorAs(t, err, &mm)
	assert.Contains(t, err.Error(), "no response within ")
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the runner would take it for the step's own timeout")
}

func TestRunSendsMethodAndHeaders(t *testing.T) {
	srv, _ := server(t, func(_ int64, w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.Method == "POST" && r.Header.Get("Authorization") == "Bearer t0ken" && r.Host == "web.example" {
			w.WriteHeader(204)
			return
		}
		w.WriteHeader(400)
	})
	env, _ := newEnv()
	spec := drillhttp.Spec{URL: srv.URL, Method: "post", Status: 204,
		Headers: map[string]string{"Authorization": "Bearer t0ken", "Host": "web.example"}}

	require.NoError(t, drillhttp.New(spec).Run(t.Context(), env))
}

func TestRunRedirects(t *testing.T) {
	srv, _ := server(t, func(_ int64, w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.URL.Path == "/old" {
			nethttp.Redirect(w, r, "/new", nethttp.StatusFound)
			return
		}
		_, _ = w.Write([]byte("new place"))
	})
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{name: "followed-when-2xx-expected", status: 200, body: "new place"},
		{name: "kept-when-3xx-expected", status: 302, body: "Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := newEnv()
			err := drillhttp.New(drillhttp.Spec{URL: srv.URL + "/old", Status: tt.status, Body: tt.body}).Run(t.Context(), env)
			require.NoError(t, err)
		})
	}
}

func TestRunReadsAtMostOneMiB(t *testing.T) {
	srv, _ := server(t, func(_ int64, w nethttp.ResponseWriter, _ *nethttp.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("a"), drillhttp.MaxBody))
		_, _ = w.Write([]byte("END"))
	})
	env, log := newEnv()

	err := drillhttp.New(drillhttp.Spec{URL: srv.URL, Body: "END"}).Run(t.Context(), env)

	var mm *drillhttp.MismatchError
	require.ErrorAs(t, err, &mm, "END lies past the cap and must not be seen")
	assert.Less(t, len(mm.Body), 300, "the error carries an excerpt, not the body")
	assert.Less(t, len(log.String()), 1000)
	require.NoError(t, drillhttp.New(drillhttp.Spec{URL: srv.URL, Body: "^a+$"}).Run(t.Context(), env))
}

func TestInvalidSpec(t *testing.T) {
	srv, n := server(t, reply(200, "ok"))
	tests := []struct {
		name      string
		spec      drillhttp.Spec
		wantField string
	}{
		{name: "invalid-regexp", spec: drillhttp.Spec{URL: srv.URL, Body: "(unclosed"}, wantField: "body"},
		{name: "relative-url", spec: drillhttp.Spec{URL: "/healthz"}, wantField: "url"},
		{name: "ftp-url", spec: drillhttp.Spec{URL: "ftp://example.com/"}, wantField: "url"},
		{name: "unparsable-url", spec: drillhttp.Spec{URL: "http://[::1"}, wantField: "url"},
		{name: "method-with-space", spec: drillhttp.Spec{URL: srv.URL, Method: "GE T"}, wantField: "method"},
		{name: "header-name-with-space", spec: drillhttp.Spec{URL: srv.URL, Headers: map[string]string{"X Bad": "v"}}, wantField: "headers"},
		{name: "header-value-with-newline", spec: drillhttp.Spec{URL: srv.URL, Headers: map[string]string{"X-Ok": "a\r\nInjected: b"}}, wantField: "headers"},
		{name: "status-out-of-range", spec: drillhttp.Spec{URL: srv.URL, Status: 42}, wantField: "status"},
		{name: "negative-within", spec: drillhttp.Spec{URL: srv.URL, Within: -time.Second}, wantField: "within"},
		{name: "negative-interval", spec: drillhttp.Spec{URL: srv.URL, Interval: -time.Second}, wantField: "interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := newEnv()
			err := drillhttp.New(tt.spec).Run(t.Context(), env)
			var se *drillhttp.SpecError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.wantField, se.Field)
			assert.Equal(t, err, tt.spec.Validate(), "Validate reports what Run would")
		})
	}
	assert.Equal(t, int64(0), n.Load(), "an invalid spec makes no request")

	var se *syntax.Error
	assert.ErrorAs(t, drillhttp.Spec{URL: srv.URL, Body: "a{2,1}"}.Validate(), &se, "the regexp error is kept")
	assert.NoError(t, drillhttp.Spec{URL: srv.URL}.Validate())
}
