package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

// These tests point drill's notifications at a real HTTP server on
// 127.0.0.1 and read what it received.

const (
	notifySecret = "n0tify-s3cret-token"
	signingKey   = "hmac-k3y-for-the-hook"
	// hookToken is the credential in the webhook's URL.
	hookToken = "T0K3N-in-the-hook-url"
)

type received struct {
	body      []byte
	signature string
	agent     string
}

// hookServer records every POST. answers are the statuses of the first
// requests (then 200); hang makes every request wait until the client
// gives up.
type hookServer struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	answers []int
	hang    bool
}

func newHookServer(t *testing.T, answers ...int) *hookServer {
	t.Helper()
	h := &hookServer{answers: answers}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, received{body: body, signature: r.Header.Get("X-Drill-Signature-256"), agent: r.UserAgent()})
		status := http.StatusOK
		if len(h.answers) > 0 {
			status, h.answers = h.answers[0], h.answers[1:]
		}
		hang := h.hang
		h.mu.Unlock()
		if hang {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h
}

// url is the hook's address with a token in its path, as a real webhook
// URL has: it must appear nowhere drill writes.
func (h *hookServer) url() string { return h.URL + "/hooks/" + hookToken }

func (h *hookServer) requests() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.got...)
}

// notice decodes a request's JSON body.
func notice(t *testing.T, r received) map[string]any {
	t.Helper()
	var n map[string]any
	require.NoError(t, json.Unmarshal(r.body, &n), "%s", r.body)
	return n
}

func signed(t *testing.T, key string, r received) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(r.body)
	assert.Equal(t, "sha256="+hex.EncodeToString(mac.Sum(nil)), r.signature, "HMAC-SHA256 of the body")
}

// newestRun is the newest document of scenario.
func newestRun(t *testing.T, resultsDir, scenario string) *results.Run {
	t.Helper()
	runs, _, err := resultstore.Open(resultsDir).Runs(scenario)
	require.NoError(t, err)
	require.NotEmpty(t, runs)
	newest := runs[0]
	for _, r := range runs {
		if r.StartedAt.After(newest.StartedAt) {
			newest = r
		}
	}
	return newest
}

// notifyRepo is the notified scenario in a git repository, so that its
// guideline holds when it passes.
func notifyRepo(t *testing.T) string {
	return filepath.Join(gitCopy(t, map[string]string{"notify": "testdata/notify"}), "notify")
}

func TestNotifyOnStateChangesOnly(t *testing.T) {
	hook := newHookServer(t)
	repo, markers, resultsDir := notifyRepo(t), t.TempDir(), t.TempDir()
	env := []string{"MARKER_DIR=" + markers, "DRILL_TEST_TOKEN=" + notifySecret, "DRILL_NOTIFY_SECRET=" + signingKey}
	run := func(extra ...string) result {
		args := append([]string{"run", "--results", resultsDir, "--notify", hook.url(), "--dashboard-url", "https://drill.example.com/"}, extra...)
		return drill(t, env, append(args, filepath.Join(repo, "scenario.yaml"))...)
	}
	broken := filepath.Join(markers, "broken")

	r := run()
	require.Equal(t, 0, r.code, "%s", r.stderr)
	assert.Empty(t, hook.requests(), "a first drill that holds is not news")

	require.NoError(t, os.WriteFile(broken, nil, 0o644))
	r = run()
	require.Equal(t, 1, r.code, "%s", r.stderr)
	got := hook.requests()
	require.Len(t, got, 1, "the drill started failing")
	failed := newestRun(t, resultsDir, "notified")
	n := notice(t, got[0])
	assert.Equal(t, "failing", n["event"])
	assert.Equal(t, "failing", n["state"])
	assert.Equal(t, "holds", n["previous"])
	assert.Equal(t, "broken", n["verdict"])
	assert.Equal(t, "notified", n["scenario"])
	assert.Equal(t, "platform", n["owner"])
	assert.Equal(t, failed.RunID, n["runId"])
	assert.Equal(t, "failed", n["status"])
	assert.Equal(t, "StepFailed", n["reason"])
	assert.Contains(t, n["error"], "healthy")
	assert.Equal(t, "https://drill.example.com/#scenario-notified", n["dashboard"])
	assert.Contains(t, n["text"], "notified is failing")
	assert.Contains(t, n["failingChecks"], "repeatable")
	assert.Empty(t, failed.Warnings, "delivered: no warning")
	signed(t, signingKey, got[0])
	assert.True(t, strings.HasPrefix(got[0].agent, "drill/"), got[0].agent)

	r = run()
	require.Equal(t, 1, r.code)
	assert.Len(t, hook.requests(), 1, "still failing: nothing new to say")

	require.NoError(t, os.Remove(broken))
	r = run()
	require.Equal(t, 0, r.code, "%s", r.stderr)
	got = hook.requests()
	require.Len(t, got, 2, "the drill recovered")
	n = notice(t, got[1])
	assert.Equal(t, "recovered", n["event"])
	assert.Equal(t, "holds", n["state"])
	assert.Equal(t, "failing", n["previous"])
	assert.Positive(t, n["medianMs"], "the median of the passed run before")
	assert.Contains(t, n["text"], "recovered")

	// drill status judges the same newest run from the history: not news.
	st := drill(t, env, "status", "--results", resultsDir, "--notify", hook.url())
	require.Equal(t, 0, st.code, "%s", st.stderr)
	require.Len(t, hook.requests(), 2, "status agrees with what the run told")

	r = run("--notify-always")
	require.Equal(t, 0, r.code)
	got = hook.requests()
	require.Len(t, got, 3, "--notify-always tells every run")
	assert.Equal(t, "unchanged", notice(t, got[2])["event"])

	for i, g := range got {
		for _, secret := range []string{notifySecret, signingKey, hookToken} {
			assert.NotContains(t, string(g.body), secret, "request %d", i)
		}
	}
	seen, err := os.ReadFile(filepath.Join(markers, "steps-see-the-signing-key"))
	require.NoError(t, err)
	assert.Equal(t, "0\n", string(seen), "DRILL_NOTIFY_SECRET is not in a step's environment")
	// Nor in anything drill wrote: documents, ledgers, logs, the memory.
	require.NoError(t, filepath.WalkDir(resultsDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, secret := range []string{notifySecret, signingKey, hookToken} {
			assert.NotContains(t, string(data), secret, path)
		}
		return nil
	}))
}

func TestNotifyRetriesAServerError(t *testing.T) {
	hook := newHookServer(t, http.StatusInternalServerError)
	markers, resultsDir := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(markers, "broken"), nil, 0o644))
	r := drill(t, []string{"MARKER_DIR=" + markers, "DRILL_TEST_TOKEN=" + notifySecret},
		"run", "--results", resultsDir, "--notify", hook.url(), "testdata/notify/scenario.yaml")
	require.Equal(t, 1, r.code, "%s", r.stderr)
	got := hook.requests()
	require.Len(t, got, 2, "a 500, then the retry the server took")
	assert.Equal(t, string(got[0].body), string(got[1].body), "the same notice again")
	assert.Empty(t, got[1].signature, "no DRILL_NOTIFY_SECRET: unsigned")
	assert.Empty(t, readRun(t, resultsDir, "notified").Warnings)
}

func TestUndeliveredNotificationIsAWarning(t *testing.T) {
	hook := newHookServer(t)
	hook.hang = true
	markers, resultsDir := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(markers, "broken"), nil, 0o644))
	r := drill(t, []string{"MARKER_DIR=" + markers, "DRILL_TEST_TOKEN=" + notifySecret},
		"run", "--results", resultsDir, "--notify", hook.url(), "--notify-timeout", "200ms", "testdata/notify/scenario.yaml")
	assert.Equal(t, 1, r.code, "the drill's own verdict, not the notification's: %s", r.stderr)
	assert.Len(t, hook.requests(), 3, "three attempts")
	run := readRun(t, resultsDir, "notified")
	require.Len(t, run.Warnings, 1)
	w := run.Warnings[0]
	assert.Contains(t, w, `notification "failing" of notified to `+hook.URL+"/… was not delivered")
	assert.Contains(t, w, "no answer within 200ms")
	assert.Contains(t, r.stderr, "was not delivered")
	for _, out := range []string{w, r.stderr, r.stdout} {
		assert.NotContains(t, out, hookToken, "the hook's token stays out")
	}

	// Not remembered as told: once the hook answers, the next drill tells it.
	hook.mu.Lock()
	hook.hang = false
	hook.mu.Unlock()
	r = drill(t, []string{"MARKER_DIR=" + markers, "DRILL_TEST_TOKEN=" + notifySecret},
		"run", "--results", resultsDir, "--notify", hook.url(), "testdata/notify/scenario.yaml")
	assert.Equal(t, 1, r.code)
	got := hook.requests()
	require.Len(t, got, 4)
	assert.Equal(t, "failing", notice(t, got[3])["event"])
}

func TestScenarioWebhookInSlackForm(t *testing.T) {
	hook := newHookServer(t)
	markers, resultsDir := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(markers, "broken"), nil, 0o644))
	r := drill(t, []string{
		"MARKER_DIR=" + markers, "DRILL_TEST_TOKEN=" + notifySecret,
		"DRILL_TEST_HOOK_URL=" + hook.url(), "DRILL_TEST_HOOK_KEY=" + signingKey,
	}, "run", "--results", resultsDir, "testdata/notify/slack.yaml")
	require.Equal(t, 1, r.code, "%s", r.stderr)
	got := hook.requests()
	require.Len(t, got, 1)
	var body map[string]string
	require.NoError(t, json.Unmarshal(got[0].body, &body), "%s", got[0].body)
	require.Len(t, body, 1, "Slack's form: text only")
	assert.Contains(t, body["text"], "drill: notified-slack is failing (run ")
	assert.Contains(t, body["text"], "Owner: platform.")
	signed(t, signingKey, got[0])
	assert.NotContains(t, string(got[0].body), notifySecret)
	assert.NotContains(t, string(got[0].body), hookToken)
	doc, err := os.ReadFile(filepath.Join(resultsDir, "notified-slack", readRun(t, resultsDir, "notified-slack").RunID+".json"))
	require.NoError(t, err)
	assert.NotContains(t, string(doc), notifySecret)
	assert.NotContains(t, string(doc), hookToken, "the document holds no hook URL")
}

func TestBadNotifyURLIsAUsageError(t *testing.T) {
	r := drill(t, nil, "run", "--notify", "ftp://hooks.example.com/"+hookToken, "testdata/notify/scenario.yaml")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "--notify: not an absolute http:// or https:// URL")
	assert.NotContains(t, r.stderr, hookToken)
}

// staleResults is a results folder where notified last held two days ago,
// with a freshness of one day.
func staleResults(t *testing.T) string {
	t.Helper()
	store := resultstore.Open(t.TempDir())
	require.NoError(t, histgen.Generate(store, []histgen.Scenario{{
		Name: "notified", Owner: "platform", Runs: 3, Every: time.Hour,
		Newest: time.Now().Add(-48 * time.Hour), Freshness: 24 * time.Hour,
	}}, histgen.Options{}))
	return store.Dir
}

func TestStatusAndServeNotifyWentStale(t *testing.T) {
	resultsDir := staleResults(t)
	cron := newHookServer(t)
	r := drill(t, nil, "status", "--results", resultsDir, "--notify", cron.url())
	assert.Equal(t, 1, r.code, "%s", r.stderr)
	got := cron.requests()
	require.Len(t, got, 1, "drill status noticed what no run can: the scenario went stale")
	n := notice(t, got[0])
	assert.Equal(t, "stale", n["event"])
	assert.Equal(t, "stale", n["verdict"])
	assert.NotEmpty(t, n["lastSuccess"])
	assert.Contains(t, n["text"], "notified went stale")

	r = drill(t, nil, "status", "--results", resultsDir, "--notify", cron.url())
	assert.Equal(t, 1, r.code)
	assert.Len(t, cron.requests(), 1, "told once, not on every cron tick")

	// drill serve's ticker tells its own hook, once.
	watcher := newHookServer(t)
	b := startDrill(t, nil, "serve", "--results", resultsDir, "--addr", "127.0.0.1:0",
		"--notify", watcher.url(), "--notify-every", "100ms")
	defer b.stop()
	b.until(t, "serve told its webhook", 30*time.Second, func() bool { return len(watcher.requests()) > 0 })
	assert.Equal(t, "stale", notice(t, watcher.requests()[0])["event"])
	// What serve told is remembered where drill status looks.
	r = drill(t, nil, "status", "--results", resultsDir, "--notify", watcher.url())
	assert.Equal(t, 1, r.code)
	assert.Len(t, watcher.requests(), 1)
}
