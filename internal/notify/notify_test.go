package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

func TestChange(t *testing.T) {
	for _, tt := range []struct {
		prev, cur State
		always    bool
		event     Event
		send      bool
	}{
		{"", Holds, false, EventUnchanged, false},
		{NeverRun, Holds, false, EventUnchanged, false},
		{"", Failing, false, EventFailing, true},
		{Holds, Failing, false, EventFailing, true},
		{Failing, Failing, false, EventUnchanged, false},
		{Failing, Failing, true, EventUnchanged, true},
		{Holds, Holds, true, EventUnchanged, true},
		{Failing, Holds, false, EventRecovered, true},
		{Stale, Holds, false, EventRecovered, true},
		{Holds, NotHolding, false, EventNotHolding, true},
		{Holds, Stale, false, EventStale, true},
		{Holds, Aborted, false, EventAborted, true},
		{Holds, NeverRun, true, EventUnchanged, false},
	} {
		event, send := change(tt.prev, tt.cur, tt.always)
		assert.Equal(t, tt.event, event, "%s -> %s", tt.prev, tt.cur)
		assert.Equal(t, tt.send, send, "%s -> %s (always %v)", tt.prev, tt.cur, tt.always)
	}
}

func TestStates(t *testing.T) {
	pass := &results.Run{Status: results.StatusPassed, Guideline: &results.Guideline{Holds: true}}
	assert.Equal(t, Holds, FromRun(pass))
	assert.Equal(t, NotHolding, FromRun(&results.Run{Status: results.StatusPassed, Guideline: &results.Guideline{}}))
	assert.Equal(t, Failing, FromRun(&results.Run{Status: results.StatusTimedOut}))

	assert.Equal(t, NeverRun, FromSummary(&results.Summary{}))
	assert.Equal(t, Aborted, FromSummary(&results.Summary{NewestAborted: true}))
	assert.Equal(t, Failing, FromSummary(&results.Summary{Newest: &results.RunSummary{Status: results.StatusFailed}}))
	assert.Equal(t, NotHolding, FromSummary(&results.Summary{Newest: &results.RunSummary{Status: results.StatusPassed}}))
	assert.Equal(t, Stale, FromSummary(&results.Summary{Newest: &results.RunSummary{Status: results.StatusPassed, Holds: true}, Stale: true}))
	assert.Equal(t, Holds, FromSummary(&results.Summary{Newest: &results.RunSummary{Status: results.StatusPassed, Holds: true}, RegularlyChecked: true}))
}

func TestFormatAndShown(t *testing.T) {
	assert.Equal(t, FormatSlack, Hook{URL: "https://hooks.slack.com/services/T0/B0/x"}.format())
	assert.Equal(t, FormatJSON, Hook{URL: "https://chat.example.com/hook"}.format())
	assert.Equal(t, FormatJSON, Hook{URL: "https://hooks.slack.com/x", Format: FormatJSON}.format())
	assert.Equal(t, "https://hooks.slack.com/…", Shown("https://hooks.slack.com/services/T0/B0/secret?x=1"))
	require.Error(t, ParseURL("--notify", "hooks.slack.com/x"))
	require.NoError(t, ParseURL("--notify", "http://127.0.0.1:9/x"))
}

// A webhook that refuses (4xx) is not retried; one that fails is not
// remembered as told, so the next judgement tells it again.
func TestRefusedIsNotRetriedNorRemembered(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	status := http.StatusForbidden
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(b))
		w.WriteHeader(status)
	}))
	defer srv.Close()
	store := resultstore.Open(filepath.Join(t.TempDir(), "results"))
	n := New(Options{Hooks: []Hook{{URL: srv.URL}}, Store: store, Backoff: time.Millisecond,
		Redact: func(s string) string { return s }})
	base := Notice{Scenario: "web", State: Failing}
	w := n.Announce(context.Background(), base)
	require.Len(t, w, 1)
	assert.Contains(t, w[0], "HTTP 403")
	assert.Len(t, bodies, 1, "a 4xx is not retried")

	mu.Lock()
	status = http.StatusNoContent
	mu.Unlock()
	assert.Empty(t, n.Announce(context.Background(), base))
	require.Len(t, bodies, 2, "told again: the first was not delivered")
	var got Notice
	require.NoError(t, json.Unmarshal([]byte(bodies[1]), &got))
	assert.Equal(t, EventFailing, got.Event)
	assert.Empty(t, n.Announce(context.Background(), base), "now remembered")
	assert.Len(t, bodies, 2)
}

// A judgement made from a history older than what a hook was told (a
// drill status that read the folder before a run finished) is not news.
func TestOlderJudgementIsNotNews(t *testing.T) {
	var mu sync.Mutex
	var events []Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n Notice
		_ = json.NewDecoder(r.Body).Decode(&n)
		mu.Lock()
		events = append(events, n.Event)
		mu.Unlock()
	}))
	defer srv.Close()
	n := New(Options{Hooks: []Hook{{URL: srv.URL}}, Store: resultstore.Open(t.TempDir())})
	ctx := context.Background()
	first := Notice{Scenario: "web", State: Failing, RunID: "20261203T010000Z-000001", runStart: time.Date(2026, 12, 3, 1, 0, 0, 1, time.UTC)}
	second := Notice{Scenario: "web", State: Holds, RunID: "20261203T010000Z-000002", runStart: first.runStart.Add(time.Millisecond)}
	require.Empty(t, n.Announce(ctx, first))
	require.Empty(t, n.Announce(ctx, second))
	require.Empty(t, n.Announce(ctx, first), "judged before run 2 finished")
	assert.Equal(t, []Event{EventFailing, EventRecovered}, events)
}

func TestTextReadsAsASentence(t *testing.T) {
	n := Notice{Event: EventFailing, Scenario: "web", RunID: "20261203T101010Z-000001", Status: "failed",
		DurationMs: 125_000, MedianMs: 61_000, Reason: "StepFailed", Error: "cycle 1, step healthy: exit status 1",
		FailingChecks: []string{"repeatable"}, Owner: "platform", Dashboard: "https://drill.example.com/#scenario-web"}
	assert.Equal(t, "drill: web is failing (run 20261203T101010Z-000001, failed in 2m5s, median 1m1s). "+
		"StepFailed: cycle 1, step healthy: exit status 1. Failing checks: repeatable. Owner: platform. "+
		"https://drill.example.com/#scenario-web", text(n))
}
