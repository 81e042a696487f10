package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	pathpkg "path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/histgen"
	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/results"
)

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// fixture is a results folder with histgen's known history, served.
type fixture struct {
	store  *resultstore.Store
	srv    *httptest.Server
	outer  string // the folder holding the results folder
	newest map[string]string
}

func TestMain(m *testing.M) {
	code := m.Run()
	histgen.RemoveKnown()
	os.Exit(code)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	outer := t.TempDir()
	store, err := histgen.CopyKnown(filepath.Join(outer, "results"), testNow)
	require.NoError(t, err)
	f := &fixture{store: store, outer: outer, newest: map[string]string{}}
	idx, err := store.ReadIndex()
	require.NoError(t, err)
	for _, e := range idx.Scenarios {
		f.newest[e.Name] = e.LatestRunID
	}
	f.srv = httptest.NewServer(New(store, WithClock(func() time.Time { return testNow })))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(f.srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func TestAPI(t *testing.T) {
	f := newFixture(t)
	web := f.newest["web-holds"]

	t.Run("index", func(t *testing.T) {
		resp, body := f.get(t, "/api/index")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		var idx results.Index
		require.NoError(t, json.Unmarshal(body, &idx))
		assert.Equal(t, results.KindIndex, idx.Kind)
		assert.Len(t, idx.Scenarios, 5)
	})
	t.Run("scenarios", func(t *testing.T) {
		_, body := f.get(t, "/api/scenarios")
		var got []scenarioStatus
		require.NoError(t, json.Unmarshal(body, &got))
		verdicts := map[string]results.Verdict{}
		for _, s := range got {
			verdicts[s.Scenario] = s.Verdict
		}
		assert.Equal(t, histgen.KnownVerdicts, verdicts)
	})
	t.Run("runs", func(t *testing.T) {
		_, body := f.get(t, "/api/scenarios/web-holds/runs")
		var runs []RunItem
		require.NoError(t, json.Unmarshal(body, &runs))
		require.Len(t, runs, 30)
		assert.Equal(t, web, runs[0].RunID, "newest first")
		assert.True(t, runs[0].Holds)
		assert.Equal(t, results.StatusPassed, runs[0].Status)
		assert.Positive(t, runs[0].DurationMs)

		_, body = f.get(t, "/api/scenarios/web-holds/runs?limit=2")
		require.NoError(t, json.Unmarshal(body, &runs))
		assert.Len(t, runs, 2)
		resp, _ := f.get(t, "/api/scenarios/web-holds/runs?limit=x")
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		resp, _ = f.get(t, "/api/scenarios/nope/runs")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
	t.Run("run document", func(t *testing.T) {
		resp, body := f.get(t, "/api/scenarios/web-holds/runs/"+web)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		want, err := os.ReadFile(f.store.RunPath("web-holds", web))
		require.NoError(t, err)
		assert.Equal(t, want, body)
		resp, _ = f.get(t, "/api/scenarios/web-holds/runs/20991231T000000Z-ffffff")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
	t.Run("log", func(t *testing.T) {
		resp, body := f.get(t, "/api/scenarios/web-holds/runs/"+web+"/logs/c1-01-build.log")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
		assert.Contains(t, string(body), "== build (cycle 1) ==")
		resp, _ = f.get(t, "/api/scenarios/web-holds/runs/"+web+"/logs/c9-99-none.log")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		resp, _ = f.get(t, "/api/scenarios/web-holds/runs/"+web+"/logs")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a folder is not served")
	})
	t.Run("schemas", func(t *testing.T) {
		for path, file := range map[string]string{"/api/schema/drillrun.json": results.RunSchemaFile, "/api/schema/drillindex.json": results.IndexSchemaFile} {
			resp, body := f.get(t, path)
			require.Equal(t, http.StatusOK, resp.StatusCode, path)
			want, err := os.ReadFile(filepath.Join("..", "..", "results", file))
			require.NoError(t, err)
			assert.Equal(t, want, body, path)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		resp, body := f.get(t, "/metrics")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, resp.Header.Get("Content-Type"), "text/plain; version=0.0.4")
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
		require.NoError(t, err)
		var stale float64 = -1
		for _, m := range fams["drill_regularly_checked"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "scenario" && l.GetValue() == "db-stale" {
					stale = m.GetGauge().GetValue()
				}
			}
		}
		assert.Equal(t, 0.0, stale)
		assert.NotEmpty(t, fams["drill_guideline_check"].GetMetric())
	})
	t.Run("healthz and methods", func(t *testing.T) {
		resp, body := f.get(t, "/healthz")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "ok\n", string(body))
		post, err := http.Post(f.srv.URL+"/api/index", "text/plain", strings.NewReader("x"))
		require.NoError(t, err)
		post.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, post.StatusCode, "read-only")
		resp, _ = f.get(t, "/nothing-here")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
	t.Run("dashboard", func(t *testing.T) {
		resp, body := f.get(t, "/")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
		page := string(body)
		assert.Contains(t, page, `var url = "api/index"`)
		assert.Contains(t, page, `href="api/scenarios/web-holds/runs/`+web+`/logs/c1-00-provision.log"`)
	})
}

// rawGet sends path to the server exactly as written: no client-side
// cleaning or escaping.
func rawGet(t *testing.T, addr, path string) (int, http.Header, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(body)
}

func TestPathTraversal(t *testing.T) {
	f := newFixture(t)
	const secret = "TOP-SECRET-CONTENT"
	outside := filepath.Join(f.outer, "outside")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte(secret), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.json"), []byte(`{"`+secret+`":1}`), 0o644))
	web := f.newest["web-holds"]
	logs := filepath.Join(f.store.RunDir("web-holds", web), "logs")
	// A log that is a symlink out of the folder, a scenario folder that is
	// one, and a run folder that is one.
	require.NoError(t, os.Symlink(filepath.Join("..", "..", "..", "..", "outside", "secret.txt"), filepath.Join(logs, "evil.log")))
	require.NoError(t, os.Symlink(outside, filepath.Join(f.store.Dir, "escape")))
	require.NoError(t, os.Symlink(outside, filepath.Join(f.store.Dir, "web-holds", "20261127T000000Z-evil00")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(f.store.Dir, "web-holds", "20261127T000000Z-evil01.json")))
	// Sanity: the secret is reachable through the symlink on disk.
	data, err := os.ReadFile(filepath.Join(logs, "evil.log"))
	require.NoError(t, err)
	require.Equal(t, secret, string(data))

	addr := f.srv.Listener.Addr().String()
	base := "/api/scenarios/web-holds/runs/" + web + "/logs/"
	attempts := []string{
		base + "evil.log",
		base + "..%2f..%2f..%2f..%2foutside%2fsecret.txt",
		base + "%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2foutside%2fsecret.txt",
		base + "%2e%2e",
		base + "..",
		base + "%2Fetc%2Fpasswd",
		base + "..%5c..%5c..%5c..%5coutside%5csecret.txt",
		base + ".hidden",
		base + "x%00.log",
		"/api/scenarios/web-holds/runs/" + web + "/logs//etc/passwd",
		"/api/scenarios/escape/runs",
		"/api/scenarios/escape/runs/secret",
		"/api/scenarios/web-holds/runs/20261127T000000Z-evil00/logs/secret.txt",
		"/api/scenarios/web-holds/runs/20261127T000000Z-evil01",
		"/api/scenarios/%2e%2e/runs/outside/logs/secret.txt",
		"/api/scenarios/..%2foutside/runs",
		"/api/scenarios/..%2F..%2Foutside/runs/secret",
		"/api/scenarios/web-holds/runs/..%2f..%2foutside%2fsecret",
		"/api/scenarios/web-holds/runs/%2e%2e%2f%2e%2e%2foutside%2fsecret",
		"//outside/secret.txt",
		"/../outside/secret.txt",
		"/api/../../outside/secret.txt",
		"/api/scenarios/web-holds/runs/" + web + "/logs/%252e%252e%252fsecret.txt",
		"/" + filepath.Join(outside, "secret.txt"),
	}
	for _, path := range attempts {
		code, header, body := rawGet(t, addr, path)
		assert.NotContains(t, body, secret, path)
		if code/100 == 3 {
			// Go's ServeMux answers a path with dot segments or double
			// slashes with a redirect to its clean form, which stays
			// inside the API; that clean form gets no secret either.
			loc := header.Get("Location")
			assert.Equal(t, pathpkg.Clean(loc), loc, "%s redirects to a clean path", path)
			code, _, body = rawGet(t, addr, loc)
			assert.NotContains(t, body, secret, loc)
			if strings.HasPrefix(loc, "/api/scenarios/web-holds/runs/"+web) {
				continue // the run's own document or folder: not a traversal
			}
		}
		assert.Contains(t, []int{http.StatusBadRequest, http.StatusNotFound}, code, path)
	}

	// The same names are served when they are real files inside.
	code, _, body := rawGet(t, addr, base+"c1-01-build.log")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "build")
}

func TestServeShutsDownWithContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, New(resultstore.Open(t.TempDir()))) }()

	resp, err := http.Get("http://" + l.Addr().String() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.Get("http://" + l.Addr().String() + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), "No drill has recorded results yet.", "an empty results folder is a page, not an error")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Serve did not return after cancel")
	}
	_, err = http.Get("http://" + l.Addr().String() + "/healthz")
	assert.Error(t, err, "the listener is closed")
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"web-holds", "20261127T071500Z-3f9a1c", "c1-00-provision.log", "a..b"} {
		assert.True(t, validName(ok), ok)
	}
	for _, bad := range []string{"", ".", "..", ".hidden", "a/b", `a\b`, "a\x00b", "/abs", strings.Repeat("x", 256)} {
		assert.False(t, validName(bad), bad)
	}
}
