package main

// Readers of a results folder (status, list, report, serve, gc) survive any
// single bad entry: a FIFO or a device named like a document, a folder
// named like one, a symlink loop, a damaged document, a FIFO where the
// history or the index should be. They warn naming it, serve everything
// else, and never block.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/results"
)

// badResults makes a results folder holding one good scenario (a real
// run) and every kind of bad entry next to and inside it.
func badResults(t *testing.T) (dir string, bad []string) {
	t.Helper()
	dir = t.TempDir()
	r := drill(t, nil, "run", "--results", dir, "testdata/faults/paths/scenario.yaml")
	require.Equal(t, 1, r.code, "a passing one-cycle drill whose guideline does not hold")
	require.Equal(t, results.StatusPassed, readRun(t, dir, "fault-paths").Status)

	good := filepath.Join(dir, "fault-paths")
	broken := filepath.Join(dir, "broken")
	require.NoError(t, os.Mkdir(broken, 0o755))
	mkfifo := func(path string) {
		require.NoError(t, os.RemoveAll(path))
		require.NoError(t, syscall.Mkfifo(path, 0o644))
		bad = append(bad, path)
	}
	mkfifo(filepath.Join(broken, "20261201T000000Z-fifo00.json"))
	mkfifo(filepath.Join(broken, "latest.json"))
	mkfifo(filepath.Join(good, "history.jsonl"))
	mkfifo(filepath.Join(dir, "index.json"))
	require.NoError(t, os.Mkdir(filepath.Join(broken, "20261201T000001Z-aaaaaa"), 0o755))
	mkfifo(filepath.Join(broken, "20261201T000001Z-aaaaaa", "ledger.jsonl"))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(broken, "20261201T000002Z-device.json")))
	require.NoError(t, os.Mkdir(filepath.Join(broken, "20261201T000003Z-folder.json"), 0o755))
	loop := filepath.Join(broken, "20261201T000004Z-loop00.json")
	require.NoError(t, os.Symlink(loop, loop))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "20261201T000005Z-damage.json"), []byte(`{"apiVersion": "drill/v1", "kind": "DrillRun", "runId": 7`), 0o644))
	bad = append(bad, filepath.Join(broken, "20261201T000002Z-device.json"), loop, filepath.Join(broken, "20261201T000005Z-damage.json"))
	if os.Geteuid() != 0 {
		// Permission bits do not stop root, so this case runs as a user only.
		locked := filepath.Join(dir, "locked")
		require.NoError(t, os.MkdirAll(filepath.Join(locked, "x"), 0o755))
		require.NoError(t, os.Chmod(locked, 0))
		t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
	}
	return dir, bad
}

// bounded runs drill with a deadline: a reader that blocks fails the test
// instead of hanging it.
func bounded(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, drillBin, args...)
	cmd.Env = append(os.Environ(), "CI=true")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "drill %v blocked", args)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	t.Logf("drill %s → exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestReadersSurviveBadEntries(t *testing.T) {
	t.Parallel()
	dir, _ := badResults(t)

	st := bounded(t, "status", "--results", dir)
	assert.NotEqual(t, 3, st.code, "one bad entry is not an unreadable results folder")
	assert.Contains(t, st.stdout, "fault-paths")
	assert.Contains(t, st.stderr, "20261201T000005Z-damage.json", "the damaged document is named")

	ls := bounded(t, "list", "--results", dir, "testdata/faults/paths/scenario.yaml")
	assert.Equal(t, 0, ls.code)
	assert.Contains(t, ls.stdout, "fault-paths")

	for _, format := range []string{"html", "junit", "ctrf", "prometheus", "markdown"} {
		rep := bounded(t, "report", "--results", dir, "--format", format)
		assert.Equal(t, 0, rep.code, format)
		assert.Contains(t, rep.stdout, "fault-paths", format)
	}

	dry := bounded(t, "gc", "--dry-run", "--results", dir)
	assert.NotEqual(t, 3, dry.code)
	g := bounded(t, "gc", "--results", dir)
	assert.NotEqual(t, 3, g.code)
	assert.Contains(t, g.stderr, "ledger.jsonl", "the unreadable ledger is named")

	// serve answers every page and API, with no 5xx, within the deadline.
	port := freePort(t)
	srv := startDrill(t, nil, "serve", "--results", dir, "--addr", fmt.Sprintf("127.0.0.1:%d", port))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 20 * time.Second}
	srv.until(t, "serve answers /healthz", 30*time.Second, func() bool {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	for _, path := range []string{"/", "/api/scenarios", "/api/scenarios/fault-paths/runs", "/api/scenarios/broken/runs", "/api/index", "/metrics",
		"/api/scenarios/broken/runs/20261201T000000Z-fifo00", "/api/scenarios/broken/runs/20261201T000004Z-loop00", "/api/scenarios/broken/runs/20261201T000002Z-device"} {
		resp, err := client.Get(base + path)
		require.NoError(t, err, path)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Less(t, resp.StatusCode, 500, "%s: %s", path, body)
		if path == "/api/scenarios" || path == "/" {
			assert.Contains(t, string(body), "fault-paths", path)
		}
	}
}
