package objectstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/resultstore"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// These tests run against a real S3 server (versitygw on 127.0.0.1, real
// SigV4, real conditional create) and against a file:// bucket, through the
// one code path both use.

// stores opens n mirrors of one bucket, as n machines would: each with
// its own cache folder.
func stores(t *testing.T, url string, n int, opts Options) []*Store {
	t.Helper()
	var out []*Store
	for range n {
		o := opts
		o.CacheDir = t.TempDir()
		s, err := Open(context.Background(), url, o)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		out = append(out, s)
	}
	return out
}

func s3URL(t *testing.T) (*testtools.S3, string) {
	srv := testtools.NeedS3(t)
	srv.SetEnv(t)
	return srv, srv.URL("team")
}

// finishedRun writes a finished run the way the runner does: running
// snapshots, a ledger, step logs, a kubeconfig, then FinishRun.
func finishedRun(t *testing.T, rs *resultstore.Store, scenario string, status results.Status) *results.Run {
	t.Helper()
	return finishRun(t, rs, startRun(t, rs, scenario), status)
}

// startRun writes the first snapshot of a running run.
func startRun(t *testing.T, rs *resultstore.Store, scenario string) *results.Run {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	r := &results.Run{APIVersion: results.APIVersion, Kind: results.KindRun, RunID: resultstore.NewRunID(now),
		Status: results.StatusRunning, StartedAt: now, Trigger: "manual"}
	r.Scenario.Name = scenario
	require.NoError(t, rs.SaveRun(r))
	return r
}

// finishRun writes what a run leaves (ledger, logs, a kubeconfig), then
// its final document.
func finishRun(t *testing.T, rs *resultstore.Store, r *results.Run, status results.Status) *results.Run {
	t.Helper()
	scenario, now := r.Scenario.Name, r.StartedAt
	l := rs.Ledger(scenario, r.RunID)
	require.NoError(t, l.Create(resultstore.LedgerEntry{ID: "wd", Kind: "workdir", Path: "/tmp/x"}))
	require.NoError(t, l.Release("wd"))
	log := rs.LogPath(scenario, r.RunID, 1, 0, "hello")
	require.NoError(t, os.MkdirAll(filepath.Dir(log), 0o755))
	require.NoError(t, os.WriteFile(log, []byte("hello\n"), 0o644))
	kube := filepath.Join(rs.RunDir(scenario, r.RunID), "kubeconfig-c1")
	require.NoError(t, os.WriteFile(kube, []byte("token: secret\n"), 0o600))
	end := now.Add(2 * time.Second)
	r.Status, r.FinishedAt, r.DurationMs = status, &end, 2000
	r.Guideline = &results.Guideline{Holds: status == results.StatusPassed}
	require.NoError(t, rs.FinishRun(r))
	return r
}

func flush(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	left, err := s.Flush(ctx)
	require.NoError(t, err)
	require.Zero(t, left)
}

func TestPublishThenPullOnAnotherMachine(t *testing.T) {
	for name, url := range map[string]func(t *testing.T) (*testtools.S3, string){
		"s3":   s3URL,
		"file": func(t *testing.T) (*testtools.S3, string) { return nil, "file://" + t.TempDir() },
	} {
		t.Run(name, func(t *testing.T) {
			srv, u := url(t)
			ms := stores(t, u, 2, Options{})
			a, b := ms[0], ms[1]
			ra := resultstore.Open(a.Dir()).WithRemote(a)
			run := finishedRun(t, ra, "stack-a", results.StatusPassed)
			flush(t, a)

			if srv != nil {
				keys := srv.Objects("team")
				assert.Contains(t, keys, "team/stack-a/"+run.RunID+".json")
				assert.Contains(t, keys, "team/stack-a/"+run.RunID+".ledger.jsonl", "the ledger lives beside its document")
				assert.Contains(t, keys, "team/stack-a/"+run.RunID+"/logs/c1-00-hello.log")
				for _, k := range keys {
					assert.NotContains(t, k, "kubeconfig", "credentials never go to the bucket")
					assert.NotContains(t, k, "index.json", "derived files are not uploaded")
					assert.NotContains(t, k, "history.jsonl")
					assert.NotContains(t, k, "latest.json")
				}
			}

			st, warns, err := b.Pull(context.Background())
			require.NoError(t, err)
			assert.Empty(t, warns)
			assert.Equal(t, 2, st.Gets, "the document and its ledger")
			rb := resultstore.Open(b.Dir()).WithRemote(b)
			h, _, err := rb.History("stack-a", resultstore.HistoryOptions{})
			require.NoError(t, err)
			require.Len(t, h.Entries, 1)
			assert.Equal(t, run.RunID, h.Entries[0].RunID)
			ledger, err := os.ReadFile(rb.Ledger("stack-a", run.RunID).Path())
			require.NoError(t, err, "the ledger came with the document")
			assert.Equal(t, 2, strings.Count(string(ledger), "\n"), "%s", ledger)

			// Nothing changed: the next pull lists no scenario and
			// downloads nothing.
			st, _, err = b.Pull(context.Background())
			require.NoError(t, err)
			assert.Zero(t, st.Gets)
			assert.Equal(t, 1, st.Unchanged)
			assert.Equal(t, 2, st.Lists, "the scenarios and the change markers")

			// Runs landing within the same second as the pull before
			// are all seen; a scenario nothing wrote to is not listed.
			finishedRun(t, ra, "stack-b", results.StatusFailed)
			flush(t, a)
			_, _, err = b.Pull(context.Background())
			require.NoError(t, err)
			for range 3 {
				finishedRun(t, ra, "stack-a", results.StatusPassed)
				flush(t, a)
				st, _, err = b.Pull(context.Background())
				require.NoError(t, err)
				assert.Equal(t, 2, st.Gets, "the new document and its ledger")
				assert.Equal(t, 1, st.Unchanged, "stack-b")
				assert.Equal(t, 3, st.Lists)
			}
			h, _, err = rb.History("stack-a", resultstore.HistoryOptions{})
			require.NoError(t, err)
			assert.Len(t, h.Entries, 4)

			// A log is fetched when asked for.
			rel := "stack-a/" + run.RunID + "/logs/c1-00-hello.log"
			require.NoError(t, b.Fetch(context.Background(), rel))
			data, err := os.ReadFile(filepath.Join(b.Dir(), rel))
			require.NoError(t, err)
			assert.Equal(t, "hello\n", string(data))
			assert.ErrorIs(t, b.Fetch(context.Background(), "stack-a/"+run.RunID+"/kubeconfig-c1"), os.ErrNotExist)
		})
	}
}

func TestRunLockHoldsAcrossMachines(t *testing.T) {
	_, u := s3URL(t)
	ms := stores(t, u, 2, Options{LockTTL: 3 * time.Second})
	a, b := ms[0], ms[1]
	release, err := a.LockScenario(context.Background(), "stack-a", "run-1", false)
	require.NoError(t, err)

	_, err = b.LockScenario(context.Background(), "stack-a", "run-2", false)
	busy, ok := errors.AsType[*resultstore.BusyError](err)
	require.True(t, ok, "a second runner is refused: %v", err)
	assert.Equal(t, "run-1", busy.RunID)
	host, _ := os.Hostname()
	assert.Equal(t, host, busy.Host)

	// The holder renews: well past the TTL, the lock still holds.
	probe := time.NewTicker(500 * time.Millisecond)
	defer probe.Stop()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); <-probe.C {
		_, err = b.LockScenario(context.Background(), "stack-a", "run-2", false)
		require.Error(t, err, "the lock expired although its holder renews it")
	}

	// A waiting runner gets it as soon as it is released.
	got := make(chan error, 1)
	go func() {
		rel, err := b.LockScenario(context.Background(), "stack-a", "run-2", true)
		if err == nil {
			rel()
		}
		got <- err
	}()
	release()
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting runner did not get the released lock")
	}
}

func TestExpiredLockIsTakenOverByExactlyOne(t *testing.T) {
	_, u := s3URL(t)
	ms := stores(t, u, 6, Options{LockTTL: 2 * time.Second})
	// A holder that died: its generation is never renewed.
	dead := ms[0]
	h := &heldLock{key: lockKey("run-stack-a", 1), rec: lockRecord{Scenario: "stack-a", RunID: "dead", Host: "gone", Pid: 1,
		Expires: time.Now().Add(-time.Second)}}
	require.NoError(t, dead.writeLock(context.Background(), h, true))

	var (
		mu      sync.Mutex
		winners []int
		busy    int
		wg      sync.WaitGroup
	)
	for i, s := range ms[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rel, err := s.LockScenario(context.Background(), "stack-a", "run", false)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				winners = append(winners, i)
				t.Cleanup(rel)
				return
			}
			if _, ok := errors.AsType[*resultstore.BusyError](err); ok {
				busy++
				return
			}
			t.Errorf("lock: %v", err)
		}()
	}
	wg.Wait()
	assert.Len(t, winners, 1, "exactly one runner takes over an expired lock")
	assert.Equal(t, 4, busy)
	gen, rec, err := dead.newest(context.Background(), "run-stack-a")
	require.NoError(t, err)
	assert.EqualValues(t, 2, gen)
	assert.True(t, rec.held(time.Now()))
}

func TestStoreDownMidRunBuffersAndUploadsLater(t *testing.T) {
	srv, u := s3URL(t)
	cache := t.TempDir()
	a, err := Open(context.Background(), u, Options{CacheDir: cache, Retry: 50 * time.Millisecond})
	require.NoError(t, err)
	ra := resultstore.Open(a.Dir()).WithRemote(a)

	srv.Stop()
	run := startRun(t, ra, "stack-a")
	// The uploader finds the store down, then the run finishes.
	require.Eventually(t, func() bool { d, _ := a.health.state(); return !d.IsZero() }, 10*time.Second, 20*time.Millisecond)
	finishRun(t, ra, run, results.StatusPassed)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	left, err := a.Flush(ctx)
	cancel()
	assert.NotZero(t, left, "nothing could be uploaded")
	assert.Error(t, err)
	doc, err := results.ReadRun(ra.RunPath("stack-a", run.RunID))
	require.NoError(t, err)
	require.NotEmpty(t, doc.Warnings, "the document says the store was down")
	assert.Contains(t, doc.Warnings[0], "has not answered since")
	require.NoError(t, a.Close()) // the drill exits with its uploads buffered

	// The next drill command on this machine uploads what is left.
	srv.Start()
	b, err := Open(context.Background(), u, Options{CacheDir: cache})
	require.NoError(t, err)
	defer b.Close()
	flush(t, b)
	keys := srv.Objects("team")
	assert.Contains(t, keys, "team/stack-a/"+run.RunID+".json")
	assert.Contains(t, keys, "team/stack-a/"+run.RunID+"/logs/c1-00-hello.log")
	assert.Empty(t, b.buffered(), "no marker is left")

	// A store that comes back during the run: the outage is a past
	// warning in the final document.
	srv.Stop()
	c, err := Open(context.Background(), u, Options{CacheDir: t.TempDir(), Retry: 50 * time.Millisecond})
	require.Error(t, err, "a store that is down is refused when opened")
	assert.True(t, isUnreachable(err), "%v", err)
	srv.Start()
	c, err = Open(context.Background(), u, Options{CacheDir: t.TempDir(), Retry: 50 * time.Millisecond})
	require.NoError(t, err)
	defer c.Close()
	rc := resultstore.Open(c.Dir()).WithRemote(c)
	now := time.Now().UTC()
	r := &results.Run{APIVersion: results.APIVersion, Kind: results.KindRun, RunID: resultstore.NewRunID(now), Status: results.StatusRunning, StartedAt: now}
	r.Scenario.Name = "stack-b"
	srv.Stop()
	require.NoError(t, rc.SaveRun(r))
	require.Eventually(t, func() bool { d, _ := c.health.state(); return !d.IsZero() }, 10*time.Second, 20*time.Millisecond)
	srv.Start()
	flush(t, c)
	end := time.Now().UTC()
	r.Status, r.FinishedAt = results.StatusPassed, &end
	require.NoError(t, rc.FinishRun(r))
	flush(t, c)
	assert.True(t, slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "did not answer from") }), "%q", r.Warnings)
}

func isUnreachable(err error) bool {
	_, ok := errors.AsType[*UnreachableError](err)
	return ok
}

func TestOpenErrors(t *testing.T) {
	for _, u := range []string{"gs://bucket", "s3:///prefix", "file://host/x", "file://relative", "s3://b/p?prefix=x/", "s3://b/p?bogus=1"} {
		_, err := Open(context.Background(), u, Options{CacheDir: t.TempDir()})
		_, ok := errors.AsType[*UsageError](err)
		assert.True(t, ok, "%s: %v", u, err)
	}
	// Nothing listens: unreachable, within the request timeout.
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "y")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	_, err := Open(context.Background(), "s3://b/p?endpoint=http://127.0.0.1:1&region=us-east-1&use_path_style=true",
		Options{CacheDir: t.TempDir(), Timeout: 5 * time.Second})
	assert.True(t, isUnreachable(err), "%v", err)
}

func TestWrongCredentialsAreUnreachable(t *testing.T) {
	srv, u := s3URL(t)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.Secret+"-wrong")
	_, err := Open(context.Background(), u, Options{CacheDir: t.TempDir()})
	assert.True(t, isUnreachable(err), "%v", err)
}

func TestKeys(t *testing.T) {
	for rel, key := range map[string]string{
		"s/20261202T000000Z-abcdef.json":             "s/20261202T000000Z-abcdef.json",
		"s/20261202T000000Z-abcdef/ledger.jsonl":     "s/20261202T000000Z-abcdef.ledger.jsonl",
		"s/20261202T000000Z-abcdef/logs/c1-00-a.log": "s/20261202T000000Z-abcdef/logs/c1-00-a.log",
	} {
		assert.Equal(t, key, keyOf(rel))
		assert.Equal(t, rel, relOf(key))
	}
	assert.False(t, publishable("s/r/kubeconfig-c1"))
	assert.False(t, publishable("s/r/logs/.c1.log.tmp-1"))
	assert.True(t, publishable("s/r/gc.log"))
	assert.Equal(t, "s3://b/p", Display("s3://b/p/?endpoint=http://x"))
}

func TestPullDropsOnlyFinishedRunsTheBucketLost(t *testing.T) {
	srv, u := s3URL(t)
	ms := stores(t, u, 2, Options{})
	a, b := ms[0], ms[1]
	ra := resultstore.Open(a.Dir()).WithRemote(a)
	gone := finishedRun(t, ra, "stack-a", results.StatusPassed)
	kept := finishedRun(t, ra, "stack-a", results.StatusPassed)
	flush(t, a)
	_, _, err := b.Pull(context.Background())
	require.NoError(t, err)
	// b runs the scenario too; its running document was uploaded.
	rb := resultstore.Open(b.Dir()).WithRemote(b)
	running := startRun(t, rb, "stack-a")
	flush(t, b)

	// Both vanish from the bucket (a lifecycle rule, a hand): the next
	// full pull drops the finished one only.
	for _, id := range []string{gone.RunID, running.RunID} {
		require.NoError(t, os.Remove(filepath.Join(srv.Root(), "team", "stack-a", id+".json")))
	}
	require.NoError(t, os.Remove(b.seenPath())) // as the hourly full pull
	_, _, err = b.Pull(context.Background())
	require.NoError(t, err)
	assert.NoFileExists(t, rb.RunPath("stack-a", gone.RunID))
	assert.NoDirExists(t, rb.RunDir("stack-a", gone.RunID))
	assert.FileExists(t, rb.RunPath("stack-a", kept.RunID))
	assert.FileExists(t, rb.RunPath("stack-a", running.RunID), "a running document is never dropped")
}

func TestRunHeldJudgesByTheNewestGeneration(t *testing.T) {
	_, u := s3URL(t)
	ms := stores(t, u, 2, Options{LockTTL: 2 * time.Second})
	a, b := ms[0], ms[1]
	release, err := a.LockScenario(context.Background(), "stack-a", "run-1", false)
	require.NoError(t, err)
	held, known := b.RunHeld(context.Background(), "stack-a", "run-1")
	assert.True(t, known)
	assert.True(t, held)
	held, known = b.RunHeld(context.Background(), "stack-a", "run-0")
	assert.True(t, known)
	assert.False(t, held, "another run holds it")
	release()
	a.releasing.Wait() // the release waits for the uploads (none here)
	// Released: its final document is in the bucket or on its way, so
	// the run is not called dead; once another run holds the lock, it is
	// over.
	b.locks.mu.Lock()
	b.locks.newest = nil // what a reader a few seconds later sees
	b.locks.mu.Unlock()
	held, known = b.RunHeld(context.Background(), "stack-a", "run-1")
	assert.True(t, known && held, "just released")
	rel2, err := a.LockScenario(context.Background(), "stack-a", "run-2", false)
	require.NoError(t, err, "a released lock is free at once")
	defer rel2()
	b.locks.mu.Lock()
	b.locks.newest = nil
	b.locks.mu.Unlock()
	held, known = b.RunHeld(context.Background(), "stack-a", "run-1")
	assert.True(t, known)
	assert.False(t, held)
	_, known = b.RunHeld(context.Background(), "stack-b", "run-9")
	assert.True(t, known, "a lock never taken: known not held")
}

func TestPullNeverPutsAnOlderDocumentOverANewerOne(t *testing.T) {
	_, u := s3URL(t)
	a := stores(t, u, 1, Options{})[0]
	ra := resultstore.Open(a.Dir()).WithRemote(a)
	r := startRun(t, ra, "stack-a")
	flush(t, a)
	// A newer snapshot is written here, and a pull runs before its marker
	// (a dashboard on the same mirror, between the write and Publish).
	r.Cycles = append(r.Cycles, results.Cycle{Index: 1, Status: results.StatusRunning})
	newer, err := json.Marshal(r)
	require.NoError(t, err)
	path := ra.RunPath("stack-a", r.RunID)
	require.NoError(t, os.WriteFile(path, newer, 0o644))
	future := time.Now().Add(time.Minute)
	require.NoError(t, os.Chtimes(path, future, future))
	_, _, err = a.Pull(context.Background())
	require.NoError(t, err)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(newer), string(got))
}

func TestLostLockIsAWarningEvenWhenGenerationsWerePruned(t *testing.T) {
	_, u := s3URL(t)
	a := stores(t, u, 1, Options{LockTTL: 600 * time.Millisecond})[0]
	release, err := a.LockScenario(context.Background(), "stack-a", "run-1", false)
	require.NoError(t, err)
	defer release()
	// Two takeovers while a could not renew: the second pruned the first.
	for _, gen := range []int64{2, 3} {
		h := &heldLock{key: lockKey("run-stack-a", gen), rec: lockRecord{Scenario: "stack-a", RunID: fmt.Sprint("other-", gen), Expires: time.Now().Add(time.Hour)}}
		require.NoError(t, a.writeLock(context.Background(), h, true))
	}
	require.NoError(t, a.bucket.Delete(context.Background(), lockKey("run-stack-a", 2)))
	require.Eventually(t, func() bool { return len(a.lockWarnings()) > 0 }, 10*time.Second, 20*time.Millisecond)
	assert.Contains(t, a.lockWarnings()[0], "taken over by another drill")
}

func TestQueueMovesARepublishedFileToTheEnd(t *testing.T) {
	s := &Store{}
	s.up.init()
	for _, rel := range []string{"a/1.json", "a/1", "a/1.json"} {
		s.up.mu.Lock()
		s.enqueueLocked(rel)
		s.up.mu.Unlock()
	}
	assert.Equal(t, []string{"a/1", "a/1.json"}, s.up.order, "the logs go up before the final document")
}

func TestResumeLeavesALiveDrillsUploadsToIt(t *testing.T) {
	srv, u := s3URL(t)
	_ = srv
	cache := t.TempDir()
	// A live drill's marker (a process of this machine) and a dead one's.
	live := exec.Command("sleep", "60")
	require.NoError(t, live.Start())
	t.Cleanup(func() { _ = live.Process.Kill(); _ = live.Wait() })
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	pending := filepath.Join(cache, ".drill", "pending")
	require.NoError(t, os.MkdirAll(pending, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(pending, "live"), []byte(fmt.Sprintf("s/live.json\n%d\n", live.Process.Pid)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(pending, "dead"), []byte(fmt.Sprintf("s/dead.json\n%d\n", dead.Process.Pid)), 0o644))
	s, err := Open(context.Background(), u, Options{CacheDir: cache})
	require.NoError(t, err)
	defer s.Close()
	s.up.mu.Lock()
	defer s.up.mu.Unlock()
	assert.True(t, s.up.queued["s/dead.json"] || s.up.busy == "s/dead.json", "a dead drill's upload is taken over")
	assert.False(t, s.up.queued["s/live.json"], "a live drill uploads its own")
}

// TestFileLockIsExclusiveAcrossProcesses races drill-like processes (this
// test binary, re-run as a child) for one expired lock in a file://
// bucket: exactly one wins, as with S3's conditional create.
func TestFileLockIsExclusiveAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("OBJECTSTORE_LOCK_CHILD"); dir != "" {
		_, _ = io.ReadAll(os.Stdin) // the start line: the parent closes every racer's stdin at once
		s, err := Open(context.Background(), "file://"+filepath.Join(dir, "bucket"), Options{CacheDir: t.TempDir()})
		require.NoError(t, err)
		_, err = s.LockScenario(context.Background(), "stack-a", fmt.Sprint(os.Getpid()), false)
		if err == nil {
			fmt.Println("RESULT won")
		} else if _, ok := errors.AsType[*resultstore.BusyError](err); ok {
			fmt.Println("RESULT busy")
		} else {
			fmt.Println("RESULT error", err)
		}
		os.Exit(0)
	}
	dir := t.TempDir()
	s, err := Open(context.Background(), "file://"+filepath.Join(dir, "bucket"), Options{CacheDir: t.TempDir()})
	require.NoError(t, err)
	h := &heldLock{key: lockKey("run-stack-a", 1), rec: lockRecord{Scenario: "stack-a", RunID: "dead", Expires: time.Now().Add(-time.Second)}}
	require.NoError(t, s.writeLock(context.Background(), h, true))
	const racers = 6
	outs := make([]*bytes.Buffer, racers)
	cmds := make([]*exec.Cmd, racers)
	starts := make([]io.WriteCloser, racers)
	for i := range racers {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestFileLockIsExclusiveAcrossProcesses$")
		cmds[i].Env = append(os.Environ(), "OBJECTSTORE_LOCK_CHILD="+dir)
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		starts[i], err = cmds[i].StdinPipe()
		require.NoError(t, err)
		require.NoError(t, cmds[i].Start())
	}
	for _, w := range starts {
		_ = w.Close()
	}
	won, busy := 0, 0
	for i, c := range cmds {
		require.NoError(t, c.Wait(), outs[i].String())
		switch {
		case strings.Contains(outs[i].String(), "RESULT won"):
			won++
		case strings.Contains(outs[i].String(), "RESULT busy"):
			busy++
		default:
			t.Errorf("racer %d: %s", i, outs[i])
		}
	}
	assert.Equal(t, 1, won, "exactly one process takes the expired lock")
	assert.Equal(t, racers-1, busy)
}
