package resultstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/redeploy-drill/drill/results"
)

// TestMain doubles as a helper process that finishes runs in a shared
// results folder, so the index lock is tested between real processes.
func TestMain(m *testing.M) {
	if os.Getenv("DRILL_RESULTS_TEST_HELPER") == "finish" {
		os.Exit(helperFinishRuns())
	}
	os.Exit(m.Run())
}

// helperFinishRuns finishes DRILL_HELPER_COUNT runs of DRILL_HELPER_SCENARIO
// in DRILL_HELPER_DIR.
func helperFinishRuns() int {
	s := Open(os.Getenv("DRILL_HELPER_DIR"))
	scenario := os.Getenv("DRILL_HELPER_SCENARIO")
	count, _ := strconv.Atoi(os.Getenv("DRILL_HELPER_COUNT"))
	for i := range count {
		r := simpleRun(scenario, testStart.Add(time.Duration(i)*time.Minute), i, StatusPassed, true)
		if err := s.FinishRun(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func TestNewRunID(t *testing.T) {
	re := regexp.MustCompile(`^20261127T071500Z-[0-9a-f]{6}$`)
	id := NewRunID(time.Date(2026, 11, 27, 8, 15, 0, 999, time.FixedZone("CET", 3600)))
	assert.Regexp(t, re, id)

	seen := map[string]bool{}
	for range 100 {
		seen[NewRunID(testStart)] = true
	}
	assert.Greater(t, len(seen), 90, "the random suffix keeps IDs of one second apart")

	var ids []string
	for i := range 50 {
		ids = append(ids, NewRunID(testStart.Add(time.Duration(49-i)*time.Second)))
	}
	slices.Reverse(ids)
	assert.True(t, slices.IsSorted(ids), "run IDs sort by time: %v", ids)
}

func TestPaths(t *testing.T) {
	s := Open("/var/drill-results")
	assert.Equal(t, "/var/drill-results/local-web/20261127T071500Z-3f9a1c.json", s.RunPath("local-web", "20261127T071500Z-3f9a1c"))
	assert.Equal(t, "/var/drill-results/local-web/20261127T071500Z-3f9a1c", s.RunDir("local-web", "20261127T071500Z-3f9a1c"))
	assert.Equal(t, "/var/drill-results/local-web/latest.json", s.LatestPath("local-web"))
	assert.Equal(t, "/var/drill-results/index.json", s.IndexPath())

	tests := []struct {
		name  string
		cycle int
		index int
		step  string
		want  string
	}{
		{"plain name", 1, 0, "provision", "c1-00-provision.log"},
		{"two digit index", 2, 12, "healthy", "c2-12-healthy.log"},
		{"unsafe characters replaced", 1, 3, "wait for ../../etc/passwd", "c1-03-wait-for-..-..-etc-passwd.log"},
		{"empty name", 1, 4, "", "c1-04-step.log"},
		{"only dots", 1, 5, "..", "c1-05-step.log"},
		{"long name cut", 1, 6, strings.Repeat("a", 200), "c1-06-" + strings.Repeat("a", maxStepFileName) + ".log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.LogPath("local-web", "20261127T071500Z-3f9a1c", tt.cycle, tt.index, tt.step)
			assert.Equal(t, "/var/drill-results/local-web/20261127T071500Z-3f9a1c/logs/"+tt.want, got)
		})
	}
}

func TestRelAndResolve(t *testing.T) {
	s := Open("/var/drill-results")
	assert.Equal(t, "local-web/r1/logs/c1-00-x.log", s.Rel("/var/drill-results/local-web/r1/logs/c1-00-x.log"))
	assert.Equal(t, "/elsewhere/x.log", s.Rel("/elsewhere/x.log"), "a path outside Dir stays as it is")

	rel := Open("drill-results")
	assert.Equal(t, "a/b.json", rel.Rel(filepath.Join("drill-results", "a", "b.json")))
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, "a/b.json", rel.Rel(filepath.Join(wd, "drill-results", "a", "b.json")), "relative Dir, absolute path")

	got, err := s.Resolve("local-web/r1.json")
	require.NoError(t, err)
	assert.Equal(t, "/var/drill-results/local-web/r1.json", got)
	for _, bad := range []string{"../etc/passwd", "/etc/passwd", "a/../../b", ""} {
		_, err := s.Resolve(bad)
		assert.Error(t, err, bad)
	}
}

func TestWriteRunDocument(t *testing.T) {
	s := Open(t.TempDir())
	r := fullRun("local-web", testStart, 1, 2, 5)
	r.APIVersion, r.Kind = "", "" // filled in by WriteRun
	r.Tools = nil
	require.NoError(t, s.WriteRun(r))

	data, err := os.ReadFile(s.RunPath("local-web", r.RunID))
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.Equal(t, "drill/v1", raw["apiVersion"])
	assert.Equal(t, "DrillRun", raw["kind"])
	assert.Equal(t, "2026-11-27T07:15:00.123Z", raw["startedAt"], "times are written in UTC")
	assert.Equal(t, map[string]any{}, raw["tools"], "a nil map is written as {}")
	assert.Empty(t, r.APIVersion, "WriteRun does not modify the caller's run")
	assert.Equal(t, time.FixedZone("CET", 3600).String(), r.StartedAt.Location().String())

	got, err := ReadRun(s.RunPath("local-web", r.RunID))
	require.NoError(t, err)
	assert.True(t, got.StartedAt.Equal(r.StartedAt))
	assert.Len(t, got.Cycles, 2)
	assert.Equal(t, r.Cycles[1].Steps[1], withUTC(got.Cycles[1].Steps[1], r.Cycles[1].Steps[1]))
}

// withUTC returns got with the time pointers of want when they denote the
// same instants, so steps compare equal across a JSON round trip.
func withUTC(got, want Step) Step {
	if got.StartedAt != nil && want.StartedAt != nil && got.StartedAt.Equal(*want.StartedAt) {
		got.StartedAt = want.StartedAt
	}
	if got.FinishedAt != nil && want.FinishedAt != nil && got.FinishedAt.Equal(*want.FinishedAt) {
		got.FinishedAt = want.FinishedAt
	}
	return got
}

func TestWriteRunRejectsInvalidRuns(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Run)
		want   error
	}{
		{"empty scenario name", func(r *Run) { r.Scenario.Name = "" }, ErrInvalidRun},
		{"scenario name with separator", func(r *Run) { r.Scenario.Name = "../evil" }, ErrInvalidRun},
		{"hidden scenario name", func(r *Run) { r.Scenario.Name = ".x" }, ErrInvalidRun},
		{"scenario named like the index", func(r *Run) { r.Scenario.Name = "index.json" }, ErrInvalidRun},
		{"empty run ID", func(r *Run) { r.RunID = "" }, ErrInvalidRun},
		{"run ID latest", func(r *Run) { r.RunID = "latest" }, ErrInvalidRun},
		{"run ID with separator", func(r *Run) { r.RunID = "a/b" }, ErrInvalidRun},
		{"other version", func(r *Run) { r.APIVersion = "drill/v2" }, ErrUnsupportedVersion},
		{"other kind", func(r *Run) { r.Kind = "DrillIndex" }, ErrWrongKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := simpleRun("local-web", testStart, 1, StatusPassed, true)
			tt.mutate(r)
			err := Open(dir).WriteRun(r)
			require.ErrorIs(t, err, tt.want)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing is written")
		})
	}
	require.ErrorIs(t, Open(t.TempDir()).WriteRun(nil), ErrInvalidRun)
}

// TestWriteRunAtomic rewrites a large run document many times while readers
// read it: every read must decode completely, and no temporary file may be
// left behind.
func TestWriteRunAtomic(t *testing.T) {
	s := Open(t.TempDir())
	r := fullRun("local-web", testStart, 1, 2, 20)
	r.Cycles[0].Steps[0].Error = &Error{Reason: ReasonStepFailed, Message: "x", OutputTail: strings.Repeat("log line\n", 4_000)}
	require.NoError(t, s.WriteRun(r))
	path := s.RunPath("local-web", r.RunID)

	const writes = 50
	done := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		reads    int
		readErrs []error
		seen     = map[int64]bool{}
	)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := ReadRun(path)
				mu.Lock()
				reads++
				if err != nil {
					readErrs = append(readErrs, err)
				} else {
					seen[got.DurationMs] = true
				}
				mu.Unlock()
			}
		})
	}
	for i := range writes {
		r.DurationMs = int64(i)
		require.NoError(t, s.WriteRun(r))
	}
	close(done)
	wg.Wait()

	assert.Empty(t, readErrs, "a reader saw a partial document")
	assert.Greater(t, reads, 10, "readers ran while the writer wrote")
	assert.Greater(t, len(seen), 1, "readers saw several versions")
	assertNoTempFiles(t, s.Dir)
	got, err := ReadRun(path)
	require.NoError(t, err)
	assert.Equal(t, int64(writes-1), got.DurationMs)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), info.Mode().Perm(), "documents are readable by dashboards")
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", path)
		}
		return nil
	})
	require.NoError(t, err)
}

func TestFinishRunUpdatesLatestAndIndex(t *testing.T) {
	s := Open(t.TempDir())
	idx, err := s.ReadIndex()
	require.NoError(t, err, "a folder without index.json has an empty index")
	assert.Empty(t, idx.Scenarios)

	success := simpleRun("local-web", testStart, 1, StatusPassed, true)
	success.FreshnessMs = 3_600_000
	success.Scenario.Owner = "platform"
	require.NoError(t, s.FinishRun(success))

	latest, err := s.Latest("local-web")
	require.NoError(t, err)
	assert.Equal(t, success.RunID, latest.RunID)
	runDoc, err := os.ReadFile(s.RunPath("local-web", success.RunID))
	require.NoError(t, err)
	latestDoc, err := os.ReadFile(s.LatestPath("local-web"))
	require.NoError(t, err)
	assert.Equal(t, string(runDoc), string(latestDoc), "latest.json is a copy of the run document")

	failure := simpleRun("local-web", testStart.Add(time.Hour), 2, StatusFailed, false)
	require.NoError(t, s.FinishRun(failure))
	// An older run finishing late must not replace the newer one.
	late := simpleRun("local-web", testStart.Add(-time.Hour), 3, StatusPassed, true)
	require.NoError(t, s.FinishRun(late))

	latest, err = s.Latest("local-web")
	require.NoError(t, err)
	assert.Equal(t, failure.RunID, latest.RunID)

	idx, err = s.ReadIndex()
	require.NoError(t, err)
	assert.Equal(t, APIVersion, idx.APIVersion)
	assert.Equal(t, KindIndex, idx.Kind)
	assert.WithinDuration(t, time.Now(), idx.UpdatedAt, time.Minute)
	require.Len(t, idx.Scenarios, 1)
	lastSuccess := testStart.UTC()
	assert.Equal(t, IndexEntry{
		Name:        "local-web",
		File:        "local-web.yaml",
		LatestRunID: failure.RunID,
		Status:      StatusFailed,
		Holds:       false,
		StartedAt:   testStart.Add(time.Hour).UTC(),
		DurationMs:  60_000,
		LastSuccess: &lastSuccess,
		Run:         "local-web/" + failure.RunID + ".json",
	}, idx.Scenarios[0])
	assertNoTempFiles(t, s.Dir)
}

func TestFinishRunRefusesRunningRun(t *testing.T) {
	s := Open(t.TempDir())
	r := simpleRun("local-web", testStart, 1, StatusRunning, false)
	require.ErrorIs(t, s.FinishRun(r), ErrNotFinished)
	_, err := os.Stat(s.IndexPath())
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestFinishRunRepairsDamagedIndex(t *testing.T) {
	s := Open(t.TempDir())
	require.NoError(t, s.FinishRun(simpleRun("alpha", testStart, 1, StatusPassed, true)))
	require.NoError(t, os.WriteFile(s.IndexPath(), []byte(`{"apiVersion":"drill/v1","kind":"DrillIn`), 0o644))
	_, err := s.ReadIndex()
	var de *DocumentError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, s.IndexPath(), de.Path)

	require.NoError(t, s.FinishRun(simpleRun("beta", testStart, 2, StatusPassed, true)))
	idx, err := s.ReadIndex()
	require.NoError(t, err)
	assert.Equal(t, []string{"alpha", "beta"}, entryNames(idx))
}

func entryNames(idx *Index) []string {
	var names []string
	for _, e := range idx.Scenarios {
		names = append(names, e.Name)
	}
	return names
}

// TestFinishRunConcurrentScenarios finishes runs of many scenarios at once:
// without the index lock, read-modify-write races lose entries.
func TestFinishRunConcurrentScenarios(t *testing.T) {
	s := Open(t.TempDir())
	const scenarios, runsEach = 16, 5
	var wg sync.WaitGroup
	errs := make(chan error, scenarios*runsEach)
	var want []string
	for i := range scenarios {
		name := fmt.Sprintf("scenario-%02d", i)
		want = append(want, name)
		wg.Go(func() {
			for j := range runsEach {
				r := simpleRun(name, testStart.Add(time.Duration(j)*time.Minute), j, StatusPassed, true)
				errs <- s.FinishRun(r)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	idx, err := s.ReadIndex()
	require.NoError(t, err)
	assert.Equal(t, want, entryNames(idx))
	for _, e := range idx.Scenarios {
		assert.Equal(t, testRunID(testStart.Add(4*time.Minute), 4), e.LatestRunID, e.Name)
	}
	assertNoTempFiles(t, s.Dir)
}

// TestFinishRunConcurrentProcesses runs the same race between real
// processes, which is what two drills finishing at once are.
func TestFinishRunConcurrentProcesses(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	const procs, runsEach = 4, 10
	var cmds []*exec.Cmd
	for i := range procs {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(),
			"DRILL_RESULTS_TEST_HELPER=finish",
			"DRILL_HELPER_DIR="+dir,
			fmt.Sprintf("DRILL_HELPER_SCENARIO=proc-%d", i),
			fmt.Sprintf("DRILL_HELPER_COUNT=%d", runsEach),
		)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		require.NoError(t, cmd.Wait())
	}
	idx, err := Open(dir).ReadIndex()
	require.NoError(t, err)
	assert.Equal(t, []string{"proc-0", "proc-1", "proc-2", "proc-3"}, entryNames(idx))
}

func TestRunsSkipsDamagedDocuments(t *testing.T) {
	s := Open(t.TempDir())
	var want []string
	for i := range 3 {
		r := simpleRun("local-web", testStart.Add(time.Duration(2-i)*time.Hour), i, StatusPassed, true)
		require.NoError(t, s.FinishRun(r))
		want = append([]string{r.RunID}, want...)
	}
	running := simpleRun("local-web", testStart.Add(3*time.Hour), 9, StatusRunning, false)
	require.NoError(t, s.WriteRun(running))
	want = append(want, running.RunID)

	good, err := os.ReadFile(s.RunPath("local-web", want[0]))
	require.NoError(t, err)
	dir := filepath.Join(s.Dir, "local-web")
	damaged := map[string][]byte{
		"20261127T000000Z-000001.json": good[:len(good)/2],                                               // truncated
		"20261127T000000Z-000002.json": {},                                                               // empty
		"20261127T000000Z-000003.json": []byte("{not json"),                                              // garbage
		"20261127T000000Z-000004.json": []byte(`{"apiVersion":"drill/v9","kind":"DrillRun"}`),            // newer version
		"20261127T000000Z-000005.json": []byte(`{"apiVersion":"drill/v1","kind":"DrillIndex"}`),          // wrong kind
		"20261127T000000Z-000006.json": []byte(`{"apiVersion":"drill/v1","kind":"DrillRun","cycles":7}`), // wrong type
		"20261127T000000Z-000007.json": good,                                                             // runId does not match
	}
	for name, data := range damaged {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	// Ignored without a warning: temporary files, folders, other files.
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".x.json.tmp-123"), []byte("{"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("{"), 0o644))

	runs, warns, err := s.Runs("local-web")
	require.NoError(t, err)
	var got []string
	for _, r := range runs {
		got = append(got, r.RunID)
	}
	assert.Equal(t, want, got, "good runs, oldest first")

	wantErrs := map[string]error{
		"20261127T000000Z-000004.json": ErrUnsupportedVersion,
		"20261127T000000Z-000005.json": ErrWrongKind,
		"20261127T000000Z-000007.json": ErrInvalidRun,
	}
	var warned []string
	for _, w := range warns {
		warned = append(warned, filepath.Base(w.Path))
		assert.Equal(t, dir, filepath.Dir(w.Path), "warnings name the full path")
		assert.Contains(t, w.Error(), w.Path)
		if want, ok := wantErrs[filepath.Base(w.Path)]; ok {
			assert.ErrorIs(t, w, want, w.Path)
		}
	}
	slices.Sort(warned)
	assert.Equal(t, slices.Sorted(func(yield func(string) bool) {
		for k := range damaged {
			if !yield(k) {
				return
			}
		}
	}), warned)

	// The history is still summarizable and the index still rebuildable.
	idx, warns2, err := s.RebuildIndex()
	require.NoError(t, err)
	assert.Len(t, warns2, len(damaged))
	assert.Equal(t, want[2], idx.Scenarios[0].LatestRunID, "the running run is not in the index")
}

func TestLatestFallsBackToDocuments(t *testing.T) {
	s := Open(t.TempDir())
	_, err := s.Latest("local-web")
	require.ErrorIs(t, err, ErrNoRuns)

	r := simpleRun("local-web", testStart, 1, StatusFailed, false)
	require.NoError(t, s.FinishRun(r))
	require.NoError(t, s.WriteRun(simpleRun("local-web", testStart.Add(time.Hour), 2, StatusRunning, false)))
	require.NoError(t, os.WriteFile(s.LatestPath("local-web"), []byte("{"), 0o644))

	got, err := s.Latest("local-web")
	require.NoError(t, err)
	assert.Equal(t, r.RunID, got.RunID, "the newest finished run, not the running one")
}

func TestScenarios(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "missing"))
	names, _, err := s.Scenarios()
	require.NoError(t, err, "a results folder that does not exist yet has no scenarios")
	assert.Empty(t, names)

	s = Open(t.TempDir())
	for _, name := range []string{"zeta", "alpha"} {
		require.NoError(t, s.WriteRun(simpleRun(name, testStart, 1, StatusRunning, false)))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(s.Dir, "lost+found"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(s.Dir, ".hidden"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, ".hidden", "x.json"), []byte("{}"), 0o644))
	names, _, err = s.Scenarios()
	require.NoError(t, err)
	assert.Equal(t, []string{"alpha", "zeta"}, names)

	runs, warns, err := s.Runs("never-ran")
	require.NoError(t, err)
	assert.Empty(t, runs)
	assert.Empty(t, warns)
	_, _, err = s.Runs("../etc")
	assert.ErrorIs(t, err, ErrInvalidRun)
}

// TestRebuildIndexMatchesIncremental finishes a mixed history in an
// arbitrary order and checks that rebuilding from the documents gives the
// index FinishRun maintained.
func TestRebuildIndexMatchesIncremental(t *testing.T) {
	s := Open(t.TempDir())
	statuses := []Status{StatusPassed, StatusFailed, StatusTimedOut, StatusCanceled, StatusSkipped}
	order := []int{5, 0, 9, 3, 7, 1, 8, 2, 6, 4, 11, 10}
	for _, scenario := range []string{"alpha", "beta", "gamma"} {
		for _, i := range order {
			st := statuses[(i+len(scenario))%len(statuses)]
			r := simpleRun(scenario, testStart.Add(time.Duration(i)*time.Hour), i, st, i%3 != 0)
			r.DurationMs = int64(1000 * i)
			r.FreshnessMs = int64(i)
			require.NoError(t, s.FinishRun(r))
		}
	}
	require.NoError(t, s.WriteRun(simpleRun("gamma", testStart.Add(100*time.Hour), 100, StatusRunning, false)))

	incremental, err := s.ReadIndex()
	require.NoError(t, err)
	require.NoError(t, os.Remove(s.IndexPath()))
	rebuilt, warns, err := s.RebuildIndex()
	require.NoError(t, err)
	assert.Empty(t, warns)
	assert.Equal(t, incremental.Scenarios, rebuilt.Scenarios)
	onDisk, err := s.ReadIndex()
	require.NoError(t, err)
	assert.Equal(t, rebuilt.Scenarios, onDisk.Scenarios)

	for _, e := range rebuilt.Scenarios {
		assert.Equal(t, testRunID(testStart.Add(11*time.Hour), 11), e.LatestRunID, e.Name)
		require.NotNil(t, e.LastSuccess, e.Name)
	}
}

func TestReadRunErrors(t *testing.T) {
	_, err := ReadRun(filepath.Join(t.TempDir(), "missing.json"))
	var de *DocumentError
	require.ErrorAs(t, err, &de)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	path := filepath.Join(t.TempDir(), "x.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"apiVersion":"drill/v1","kind":"DrillRun","runId":"r","newField":{"a":1}}`), 0o644))
	r, err := ReadRun(path)
	require.NoError(t, err, "unknown fields are accepted: adding a field keeps drill/v1")
	assert.Equal(t, "r", r.RunID)

	var syntax *json.SyntaxError
	require.NoError(t, os.WriteFile(path, []byte(`{"apiVersion":`), 0o644))
	_, err = ReadRun(path)
	assert.True(t, errors.As(err, &syntax), "truncated: %v", err)
}

func TestRebuildIndexCreatesMissingFolder(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "new"))
	idx, warns, err := s.RebuildIndex()
	require.NoError(t, err)
	assert.Empty(t, warns)
	assert.Empty(t, idx.Scenarios)
	_, err = os.Stat(s.IndexPath())
	assert.NoError(t, err)
}

// A results folder reached through a symlink names the same lock whether it
// exists or was removed: removing it must not let a second drill take
// another lock for the same scenario.
func TestLockPathOutlivesTheFolderThroughSymlinks(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(real, link))
	dir := filepath.Join(link, "results")
	require.NoError(t, os.Mkdir(dir, 0o755))
	s := Open(dir)
	present := s.runLockPath("web")
	assert.Equal(t, present, Open(filepath.Join(real, "results")).runLockPath("web"), "the same folder by another path")
	require.NoError(t, os.Remove(dir))
	assert.Equal(t, present, s.runLockPath("web"), "the removed folder")
}
