package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

func TestHostHeader(t *testing.T) {
	h := New(resultstore.Open(t.TempDir()), WithAllowedHosts("drill.example.com", "192.0.2.10:9999", "[2001:db8::1]", ""))
	tests := []struct {
		host string
		want int
	}{
		{"localhost", http.StatusOK},
		{"localhost:8080", http.StatusOK},
		{"LOCALHOST:1", http.StatusOK},
		{"localhost.", http.StatusOK},
		{"app.localhost:8080", http.StatusOK},
		{"127.0.0.1", http.StatusOK},
		{"127.0.0.1:8080", http.StatusOK},
		{"127.9.8.7:80", http.StatusOK},
		{"[::1]:8080", http.StatusOK},
		{"[::1]", http.StatusOK},
		{"drill.example.com", http.StatusOK},
		{"DRILL.example.com:443", http.StatusOK},
		{"192.0.2.10", http.StatusOK},
		{"192.0.2.10:8080", http.StatusOK},
		{"[2001:db8::1]:8080", http.StatusOK},

		{"", http.StatusMisdirectedRequest},
		{"evil.example", http.StatusMisdirectedRequest},
		{"evil.example:8080", http.StatusMisdirectedRequest},
		{"localhost.evil.example", http.StatusMisdirectedRequest},
		{"evillocalhost", http.StatusMisdirectedRequest},
		{"127.0.0.1.evil.example", http.StatusMisdirectedRequest},
		{"sub.drill.example.com", http.StatusMisdirectedRequest},
		{"drill.example.com.evil.example", http.StatusMisdirectedRequest},
		{"0.0.0.0:8080", http.StatusMisdirectedRequest},
		{"192.168.1.5:8080", http.StatusMisdirectedRequest},
		{"[::2]:8080", http.StatusMisdirectedRequest},
		{"128.0.0.1", http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		for _, path := range []string{"/", "/api/index", "/api/scenarios", "/metrics", "/api/schema/drillrun.json"} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Host = tt.host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, tt.want, rec.Code, "Host %q %s", tt.host, path)
			if tt.want == http.StatusMisdirectedRequest {
				assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
				assert.Contains(t, rec.Body.String(), "--allow-host")
				assert.Less(t, rec.Body.Len(), 300, "a short message")
				assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			}
		}
	}

	// /healthz answers probes that name the machine by address.
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	req.Host = "10.1.2.3:8080"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "ok\n", rec.Body.String())

	// The same through a real connection: the Host header is what the
	// client sent, not the address it connected to.
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for host, want := range map[string]int{"rebound.evil.example": http.StatusMisdirectedRequest, "drill.example.com:8080": http.StatusOK} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/index", nil)
		require.NoError(t, err)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, host)
	}
}

// TestBadPathsAreNot5xx walks hostile and reserved paths, then random
// ones, against a real results folder: every answer is below 500, and
// names that are no scenario, run or log are 404.
func TestBadPathsAreNot5xx(t *testing.T) {
	f := newFixture(t)
	web := f.newest["web-holds"]
	// Things a results folder holds besides scenarios and runs.
	require.NoError(t, os.WriteFile(filepath.Join(f.store.Dir, "index.html"), []byte("<html>"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(f.store.Dir, ".run.lock"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(f.store.Dir, "index.json.lock"), nil, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(f.store.RunDir("web-holds", web), "logs", "c1-target-logs"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(f.store.Dir, "empty-folder"), 0o755))
	addr := f.srv.Listener.Addr().String()
	run := "/api/scenarios/web-holds/runs/" + web

	notFound := []string{
		"/api/scenarios/index.json/runs",
		"/api/scenarios/index.json/runs/" + web,
		"/api/scenarios/index.json.lock/runs",
		"/api/scenarios/index.html/runs",
		"/api/scenarios/history.jsonl/runs",
		"/api/scenarios/.run.lock/runs",
		"/api/scenarios/%2e%2e/runs",
		"/api/scenarios/%2e/runs",
		"/api/scenarios/a%00b/runs",
		"/api/scenarios/web-holds%00/runs",
		"/api/scenarios/empty-folder/runs",
		"/api/scenarios/nope/runs",
		"/api/scenarios/nope/runs/" + web,
		"/api/scenarios/" + strings.Repeat("x", 300) + "/runs",
		"/api/scenarios/" + strings.Repeat("x", 201) + "/runs",
		"/api/scenarios/" + strings.Repeat("x", 255) + "/runs",
		"/api/scenarios/web-holds/runs/latest",
		"/api/scenarios/web-holds/runs/latest/logs/c1-01-build.log",
		"/api/scenarios/web-holds/runs/history",
		"/api/scenarios/web-holds/runs/" + web + ".json",
		"/api/scenarios/web-holds/runs/" + strings.Repeat("y", 300),
		"/api/scenarios/web-holds/runs/%00",
		run + "/logs",
		run + "/logs/c1-target-logs",
		run + "/logs/" + strings.Repeat("z", 300),
		run + "/logs/.hidden",
		run + "/logs/%2e%2e%2f%2e%2e%2f" + web + ".json",
		"/api/schema/nope.json",
		"/api/schema/",
		"/nope",
		"/api/nope",
		"/api/scenarios/",
		"/api/scenarios/web-holds",
		"/api/index/x",
		"/healthz/x",
		"/metrics/x",
	}
	for _, path := range notFound {
		code, _, body := rawGet(t, addr, path)
		assert.Equal(t, http.StatusNotFound, code, "%s: %s", path, body)
	}
	for _, path := range []string{
		"/api/scenarios/web-holds/runs?limit=-1",
		"/api/scenarios/web-holds/runs?limit=99999999999999999999999",
		"/api/scenarios/web-holds/runs?limit=%00",
		"/api/scenarios/%/runs",
		"/api/scenarios/%zz/runs",
		"/api/scenarios/%ff%fe/runs",
		"/api/scenarios/web-holds/runs/" + web + "/logs/%c0%af",
	} {
		code, _, body := rawGet(t, addr, path)
		assert.Less(t, code, 500, "%s: %s", path, body)
	}

	// Random segments: separators, escapes, dots, NULs, reserved names,
	// long and non-UTF-8 names, in every position of every route.
	pieces := []string{
		"web-holds", web, "latest", "index.json", "index.json.lock", "history.jsonl", "latest.json", ".run.lock",
		"logs", "c1-01-build.log", ".", "..", "%2e%2e", "%2f", "%5c", "%00", "%ff", "%", "%2", "a%2fb",
		"~", "*", "\u00e9t\u00e9", "%e2%80%ae", strings.Repeat("x", 201), strings.Repeat("%41", 150), "", ";", "?x=1", "#frag",
	}
	prefixes := []string{"/api/scenarios/", "/api/scenarios/web-holds/runs/", run + "/logs/", "/api/schema/", "/", "/api/"}
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: a failure is reproducible
	for range 400 {
		var b strings.Builder
		b.WriteString(prefixes[rng.IntN(len(prefixes))])
		for n := rng.IntN(5); n >= 0; n-- {
			if rng.IntN(4) == 0 {
				// A random byte, escaped so the request line stays valid.
				fmt.Fprintf(&b, "%%%02x", rng.IntN(256))
			} else {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
			if rng.IntN(3) > 0 {
				b.WriteString("/")
			}
		}
		if rng.IntN(4) == 0 {
			b.WriteString("/runs")
		}
		path := b.String()
		code, _, body := rawGet(t, addr, path)
		assert.Less(t, code, 500, "%s: %s", path, body)
	}
}

// TestAbortedRunEverywhere checks that a run whose drill died (a reaped
// process's pid, on this host) is aborted in /api/scenarios, the runs
// listing and the dashboard, and that a run whose drill is alive (this
// test process) is running there.
func TestAbortedRunEverywhere(t *testing.T) {
	f := newFixture(t)
	host, err := os.Hostname()
	require.NoError(t, err)
	pid, err := histgen.DeadPid()
	require.NoError(t, err)
	dead, err := histgen.WriteRunning(f.store, "web-holds", "platform", testNow.Add(-time.Minute), pid, host)
	require.NoError(t, err)
	// A live drill: this process, started before the run (a pid that
	// started after its run is a recycled one).
	live, err := histgen.WriteRunning(f.store, "api-slower", "platform", time.Now(), os.Getpid(), host)
	require.NoError(t, err)

	_, body := f.get(t, "/api/scenarios")
	var got []scenarioStatus
	require.NoError(t, json.Unmarshal(body, &got))
	by := map[string]scenarioStatus{}
	for _, s := range got {
		by[s.Scenario] = s
	}
	assert.Equal(t, results.VerdictAborted, by["web-holds"].Verdict)
	assert.Equal(t, []string{dead.RunID}, by["web-holds"].Aborted)
	assert.Equal(t, results.VerdictHolds, by["api-slower"].Verdict, "a drill under way keeps the verdict")
	assert.Equal(t, []string{live.RunID}, by["api-slower"].Running)
	assert.Empty(t, by["api-slower"].Aborted)
	assert.Contains(t, string(body), `"verdict": "aborted"`)

	var runs []RunItem
	_, body = f.get(t, "/api/scenarios/web-holds/runs?limit=2")
	require.NoError(t, json.Unmarshal(body, &runs))
	require.Len(t, runs, 2)
	assert.Equal(t, RunItem{RunID: dead.RunID, Status: results.StatusRunning, StartedAt: dead.StartedAt, Aborted: true}, runs[0])
	assert.Equal(t, f.newest["web-holds"], runs[1].RunID, "then the newest finished run")
	assert.False(t, runs[1].Aborted)
	assert.Contains(t, string(body), `"aborted": true`)
	_, body = f.get(t, "/api/scenarios/api-slower/runs?limit=1")
	runs = nil // omitted fields must not keep the values decoded above
	require.NoError(t, json.Unmarshal(body, &runs))
	require.Len(t, runs, 1)
	assert.Equal(t, live.RunID, runs[0].RunID)
	assert.Equal(t, results.StatusRunning, runs[0].Status)
	assert.False(t, runs[0].Aborted)
	assert.NotContains(t, string(body), `"aborted"`)

	_, body = f.get(t, "/")
	doc, err := html.Parse(bytes.NewReader(body))
	require.NoError(t, err)
	verdicts := verdictCells(doc)
	assert.Equal(t, results.VerdictAborted, verdicts["web-holds"])
	assert.Equal(t, results.VerdictHolds, verdicts["api-slower"])
	shown := map[string]*html.Node{}
	for _, p := range findAll(doc, func(n *html.Node) bool { return n.Data == "p" && hasClass(n, "running") }) {
		shown[attr(p, "data-run")] = p
	}
	require.Contains(t, shown, dead.RunID)
	require.Contains(t, shown, live.RunID)
	assert.Contains(t, textOf(shown[dead.RunID]), "aborted")
	assert.Contains(t, textOf(shown[dead.RunID]), "drill gc")
	assert.True(t, strings.HasPrefix(textOf(shown[live.RunID]), "running"), textOf(shown[live.RunID]))
	assert.NotContains(t, textOf(shown[live.RunID]), "aborted")

	// The predicate is the server's to choose: trusting every document, as
	// a library user of results would by default, shows no aborted run.
	trusting := httptest.NewServer(New(f.store, WithClock(func() time.Time { return testNow }), WithAlive(func(*results.Run) bool { return true })))
	t.Cleanup(trusting.Close)
	resp, err := http.Get(trusting.URL + "/api/scenarios")
	require.NoError(t, err)
	defer resp.Body.Close()
	got = nil
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	for _, s := range got {
		assert.NotEqual(t, results.VerdictAborted, s.Verdict, s.Scenario)
	}
}
