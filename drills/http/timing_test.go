package http

import (
	"bytes"
	"io"
	nethttp "net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
)

type roundTripFunc func(*nethttp.Request) (*nethttp.Response, error)

func (f roundTripFunc) RoundTrip(r *nethttp.Request) (*nethttp.Response, error) { return f(r) }

// Exact timings of the polling loop, in a synctest bubble with a transport
// that needs no network: time only moves when every goroutine waits.
func TestRunTiming(t *testing.T) {
	unavailable := roundTripFunc(func(r *nethttp.Request) (*nethttp.Response, error) {
		return &nethttp.Response{StatusCode: 503, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})
	hanging := roundTripFunc(func(r *nethttp.Request) (*nethttp.Response, error) {
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
	tests := []struct {
		name         string
		transport    nethttp.RoundTripper
		within       time.Duration
		interval     time.Duration
		wantAttempts int
		wantElapsed  time.Duration
		wantLastErr  string
	}{
		{
			// Attempts at 0s, 1s, ... 29s; one at 30s would be too late.
			name: "answering-server-polled-every-interval", transport: unavailable,
			within: 30 * time.Second, interval: time.Second,
			wantAttempts: 30, wantElapsed: 29 * time.Second,
		},
		{
			// 0s-10s (cut at 10s), 11s-21s (cut at 10s), 22s-25s (cut at
			// what is left of the window), then no time for another.
			name: "silent-server-bounded-per-attempt-and-by-window", transport: hanging,
			within: 25 * time.Second, interval: time.Second,
			wantAttempts: 3, wantElapsed: 25 * time.Second, wantLastErr: "no response within 3s",
		},
		{
			name: "no-window-is-one-attempt", transport: hanging,
			within: 0, interval: time.Second,
			wantAttempts: 1, wantElapsed: MaxRequestTimeout, wantLastErr: "no response within 10s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(Spec{URL: "http://web.invalid/", Within: tt.within, Interval: tt.interval}).(*step)
				s.transport = tt.transport
				var log bytes.Buffer
				start := time.Now()

				err := s.Run(t.Context(), &drills.Env{Log: &log})

				assert.Equal(t, tt.wantElapsed, time.Since(start))
				var mm *MismatchError
				require.ErrorAs(t, err, &mm)
				assert.Equal(t, tt.wantAttempts, mm.Attempts)
				assert.Equal(t, tt.wantAttempts, strings.Count(log.String(), " attempt "))
				if tt.wantLastErr != "" {
					require.Error(t, mm.Err)
					assert.Equal(t, tt.wantLastErr, mm.Err.Error())
				}
			})
		})
	}
}
