package main

import (
	"bytes"
	"encoding/json"
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

	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// Results in object storage, end to end: drill processes on "machines"
// (each its own cache folder, so its own mirror) sharing one bucket of a
// real S3 server (versitygw on 127.0.0.1, SigV4).

// machine is the environment of a drill process on its own machine.
func machine(t *testing.T, srv *testtools.S3, extra ...string) []string {
	return append(append(srv.Env(), "DRILL_CACHE_DIR="+t.TempDir()), extra...)
}

// s3Stacks writes, into a committed git repository, one scenario per
// name with the given steps (YAML flow sequences), and returns the files.
func s3Stacks(t *testing.T, steps map[string]string) map[string]string {
	t.Helper()
	repo := t.TempDir()
	files := map[string]string{}
	for name, st := range steps {
		p := filepath.Join(repo, name+".yaml")
		require.NoError(t, os.WriteFile(p, []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: `+name+`}
spec:
  cycles: 2
  source: .
  target: {none: {}}
  passEnv: [MARK]
  steps: `+st+"\n"), 0o644))
		files[name] = p
	}
	gitInit(t, repo)
	return files
}

// bucketRuns reads the run documents of scenario straight from the
// server's folder.
func bucketRuns(t *testing.T, srv *testtools.S3, prefix, scenario string) []*results.Run {
	t.Helper()
	var out []*results.Run
	for _, k := range srv.Objects(prefix + "/" + scenario) {
		if strings.Count(strings.TrimPrefix(k, prefix+"/"), "/") != 1 || !strings.HasSuffix(k, ".json") {
			continue
		}
		r, err := results.ReadRun(filepath.Join(srv.Root(), k))
		require.NoError(t, err)
		out = append(out, r)
	}
	return out
}

// held is a step that says it started, then waits for the test's go.
const held = `[{name: wait, run: "touch $MARK/started; while [ ! -e $MARK/go ]; do sleep 0.05; done"}`

// startHeld starts cmd (drill, or drill under unshare) in a process group
// of its own, and waits until its held step started.
func startHeld(t *testing.T, cmd *exec.Cmd, env []string, mark string) *background {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b := startCommand(t, cmd, append(env, "MARK="+mark))
	// First of the cleanups (they run last-in first-out): the step's
	// shell too, whatever the test did.
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	b.until(t, "the held step started", time.Minute, fileExists(filepath.Join(mark, "started")))
	return b
}

// killGroup kills the held drill and everything it started, the way a
// pod dies, and reaps it.
func (b *background) killGroup(t *testing.T) {
	t.Helper()
	require.NoError(t, syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL))
	b.wait(t, 10*time.Second)
}

// verdicts parses `drill status -o json`: each scenario's verdict, a
// scenario listed twice failing the test.
func verdicts(t *testing.T, stdout string) map[string]string {
	t.Helper()
	var rows []struct {
		Scenario string `json:"scenario"`
		Verdict  string `json:"verdict"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rows), stdout)
	out := map[string]string{}
	for _, r := range rows {
		_, dup := out[r.Scenario]
		assert.False(t, dup, "%s appears twice", r.Scenario)
		out[r.Scenario] = r.Verdict
	}
	return out
}

func TestResultsInS3EveryCommand(t *testing.T) {
	srv := testtools.NeedS3(t)
	url := srv.URL("nightly")
	files := s3Stacks(t, map[string]string{
		"web": `[{name: hello, run: "echo hello from web"}]`,
		"db":  `[{name: check, run: "echo broken; exit 7"}]`,
	})
	a := machine(t, srv)
	r := drill(t, a, "run", "--results", url, files["web"], files["db"])
	require.Equal(t, 1, r.code, "one scenario fails")
	assert.Contains(t, r.stdout, "web: result s3://drill/nightly/web/")

	for _, name := range []string{"web", "db"} {
		runs := bucketRuns(t, srv, "nightly", name)
		require.Len(t, runs, 1, name)
		assert.Empty(t, runs[0].Warnings)
	}
	assert.Equal(t, results.StatusFailed, bucketRuns(t, srv, "nightly", "db")[0].Status)

	// Another machine reads the same bucket.
	b := machine(t, srv)
	st := drill(t, b, "status", "--results", url, "-o", "json")
	assert.Equal(t, 1, st.code, "a failing scenario is exit 1")
	assert.Equal(t, map[string]string{"web": "holds", "db": "broken"}, verdicts(t, st.stdout))

	ls := drill(t, b, "list", "--results", url, filepath.Dir(files["web"]))
	require.Equal(t, 0, ls.code)
	assert.Regexp(t, `web .*passed, guideline holds`, ls.stdout)

	rep := drill(t, b, "report", "--results", url, "--format", "markdown")
	require.Equal(t, 0, rep.code)
	assert.Contains(t, rep.stdout, "db")

	// The dashboard's API and a step log, fetched from the bucket on demand.
	port := freePort(t)
	serve := exec.Command(drillBin, "serve", "--results", url, "--addr", fmt.Sprintf("127.0.0.1:%d", port))
	serve.Env = append(os.Environ(), machine(t, srv)...)
	var serveErr bytes.Buffer
	serve.Stderr = &serveErr
	require.NoError(t, serve.Start())
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	var body []byte
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/api/scenarios")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == 200
	}, 30*time.Second, 50*time.Millisecond, serveErr.String())
	assert.Contains(t, string(body), `"web"`)
	web := bucketRuns(t, srv, "nightly", "web")[0]
	log := web.Cycles[0].Steps[len(web.Cycles[0].Steps)-2].Log
	resp, err := http.Get(base + "/api/scenarios/web/runs/" + web.RunID + "/logs/" + filepath.Base(log))
	require.NoError(t, err)
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "%s: %s", log, text)
	assert.Contains(t, string(text), "hello from web")

	gc := drill(t, b, "gc", "--results", url)
	assert.Equal(t, 0, gc.code)
}

func TestS3RunLockAcrossMachines(t *testing.T) {
	srv := testtools.NeedS3(t)
	url := srv.URL("locks")
	mark := t.TempDir()
	files := s3Stacks(t, map[string]string{"slow": held + "]"})
	first := startHeld(t, exec.Command(drillBin, "run", "--results", url, files["slow"]), machine(t, srv), mark)

	second := drill(t, machine(t, srv, "MARK="+t.TempDir()), "run", "--results", url, files["slow"])
	assert.Equal(t, 3, second.code, "the scenario runs on another machine")
	assert.Contains(t, second.stderr, "already running")
	host, _ := os.Hostname()
	assert.Contains(t, second.stderr, "on "+host)

	require.NoError(t, os.WriteFile(filepath.Join(mark, "go"), nil, 0o644))
	require.Equal(t, 0, first.wait(t, time.Minute).code)
	runs := bucketRuns(t, srv, "locks", "slow")
	require.Len(t, runs, 1, "no second run was recorded")
	assert.Equal(t, results.StatusPassed, runs[0].Status)
}

func TestS3UnreachableExitsThreeBeforeProvisioning(t *testing.T) {
	srv := testtools.NeedS3(t)
	mark := t.TempDir()
	files := s3Stacks(t, map[string]string{"web": `[{name: deploy, run: "touch $MARK/deployed"}]`})
	srv.Stop()
	r := drill(t, machine(t, srv, "MARK="+mark), "run", "--results", srv.URL("x"), files["web"])
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stderr, "unreachable")
	assert.NoFileExists(t, filepath.Join(mark, "deployed"), "nothing ran")

	bad := drill(t, machine(t, srv), "status", "--results", "gs://bucket/x")
	assert.Equal(t, 2, bad.code)
	assert.Contains(t, bad.stderr, `scheme "gs" is not supported`)
}

func TestS3DownMidRunIsBufferedAndUploaded(t *testing.T) {
	srv := testtools.NeedS3(t)
	url := srv.URL("outage")
	mark := t.TempDir()
	files := s3Stacks(t, map[string]string{"web": held + `, {name: after, run: "echo after the outage"}]`})
	cache := t.TempDir()
	env := append(srv.Env(), "DRILL_CACHE_DIR="+cache)
	b := startHeld(t, exec.Command(drillBin, "run", "--results", url, files["web"]), env, mark)
	srv.Stop()
	require.NoError(t, os.WriteFile(filepath.Join(mark, "go"), nil, 0o644))

	// The run goes on and finishes in the mirror; its uploads wait.
	var doc *results.Run
	require.Eventually(t, func() bool {
		matches, _ := filepath.Glob(filepath.Join(cache, "results", "*", "web", "*.json"))
		for _, m := range matches {
			if r, err := results.ReadRun(m); err == nil && r.Status.Finished() {
				doc = r
				return true
			}
		}
		return false
	}, 60*time.Second, 20*time.Millisecond, "%s", b.stderr)
	assert.Equal(t, results.StatusPassed, doc.Status)
	require.NotEmpty(t, doc.Warnings)
	assert.Contains(t, doc.Warnings[0], "has not answered since")
	assert.False(t, b.exited(), "drill waits to upload")

	srv.Start()
	require.Equal(t, 0, b.wait(t, 2*time.Minute).code)
	runs := bucketRuns(t, srv, "outage", "web")
	require.Len(t, runs, 1)
	assert.Equal(t, results.StatusPassed, runs[0].Status)
	assert.Equal(t, doc.Warnings, runs[0].Warnings)
	assert.NotEmpty(t, srv.Objects("outage/web/"+runs[0].RunID+"/logs"), "the logs were uploaded too")

	// A store that never comes back within the flush timeout: exit 3, and
	// the next command uploads what was kept.
	require.NoError(t, os.Remove(filepath.Join(mark, "go")))
	require.NoError(t, os.Remove(filepath.Join(mark, "started")))
	b = startHeld(t, exec.Command(drillBin, "run", "--results", url, files["web"]), append(env, "DRILL_RESULTS_FLUSH_TIMEOUT=1s"), mark)
	srv.Stop()
	require.NoError(t, os.WriteFile(filepath.Join(mark, "go"), nil, 0o644))
	r := b.wait(t, 2*time.Minute)
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stderr, "not uploaded")
	srv.Start()
	st := drill(t, env, "status", "--results", url)
	assert.Equal(t, 0, st.code)
	assert.Len(t, bucketRuns(t, srv, "outage", "web"), 2, "the kept run was uploaded by the next command")
}

func TestS3GCOnAnotherMachineCleansUpAKilledRun(t *testing.T) {
	srv := testtools.NeedS3(t)
	url := srv.URL("gc")
	mark := t.TempDir()
	files := s3Stacks(t, map[string]string{"web": held + "]"})
	b := startHeld(t, exec.Command(drillBin, "run", "--results", url, files["web"]), machine(t, srv), mark)
	// The running document and the ledger reach the bucket, then the
	// "pod" dies without a word.
	require.Eventually(t, func() bool {
		runs := bucketRuns(t, srv, "gc", "web")
		if len(runs) != 1 {
			return false
		}
		_, err := os.Stat(filepath.Join(srv.Root(), "gc", "web", runs[0].RunID+".ledger.jsonl"))
		return err == nil && len(runs[0].Cycles) > 0 && len(runs[0].Cycles[0].Steps) > 1
	}, 60*time.Second, 20*time.Millisecond)
	b.killGroup(t)
	run := bucketRuns(t, srv, "gc", "web")[0]
	workdir := run.Cycles[0].Workdir
	require.DirExists(t, workdir, "the killed run left its workdir")

	gc := drill(t, machine(t, srv), "gc", "--results", url)
	require.Equal(t, 0, gc.code)
	assert.NoDirExists(t, workdir, "gc on another mirror removed it, from the ledger in the bucket")
	after := bucketRuns(t, srv, "gc", "web")[0]
	assert.Equal(t, results.StatusCanceled, after.Status, "and recorded it in the bucket")
	require.NotNil(t, after.Error)
	assert.Contains(t, after.Error.Message, "drill gc cleaned up")
}

// A pod that died on another host: its running document cannot be judged
// by pid, so drill judges it by the scenario's lock in the bucket, which
// the dead drill no longer renews. The "pod" is drill in a UTS namespace
// with a host name of its own.
func TestS3DeadRunOnAnotherHostIsJudgedByTheLock(t *testing.T) {
	srv := testtools.NeedS3(t)
	unshare := testtools.Need(t, "unshare", "util-linux")
	if os.Geteuid() != 0 {
		testtools.Missing(t, "needs root for a UTS namespace (another host name)")
	}
	url := srv.URL("pods")
	mark := t.TempDir()
	files := s3Stacks(t, map[string]string{"web": held + "]"})
	b := startHeld(t, exec.Command(unshare, "--uts", "sh", "-c", `hostname drill-pod-1 && exec "$0" "$@"`, drillBin, "run", "--results", url, files["web"]),
		machine(t, srv, "DRILL_LOCK_TTL=2s"), mark)
	require.Eventually(t, func() bool {
		runs := bucketRuns(t, srv, "pods", "web")
		return len(runs) == 1 && len(runs[0].Cycles) > 0 && len(runs[0].Cycles[0].Steps) > 1
	}, 60*time.Second, 20*time.Millisecond, "%s", b.stderr)
	run := bucketRuns(t, srv, "pods", "web")[0]
	require.Equal(t, "drill-pod-1", run.Host.Name)
	t.Cleanup(func() { _ = os.RemoveAll(run.Cycles[0].Workdir) })

	verdict := func() string {
		return verdicts(t, drill(t, machine(t, srv), "status", "--results", url, "-o", "json").stdout)["web"]
	}
	assert.Equal(t, "never-run", verdict(), "the pod renews its lock: its first run is under way, not aborted")

	b.killGroup(t)
	require.Eventually(t, func() bool { return verdict() == "aborted" }, 30*time.Second, 100*time.Millisecond,
		"once the dead pod's lock expired, another machine calls its run aborted")

	gc := drill(t, machine(t, srv), "gc", "--results", url)
	assert.Equal(t, 4, gc.code, "the pod's workdir lived on its host: left, and said so")
	assert.Contains(t, gc.stdout, "created on host drill-pod-1")
	after := bucketRuns(t, srv, "pods", "web")[0]
	assert.Equal(t, results.StatusCanceled, after.Status, "gc recorded the dead run in the bucket")
	require.NotNil(t, after.Error)
	assert.Equal(t, results.ReasonAborted, after.Error.Reason)
}
