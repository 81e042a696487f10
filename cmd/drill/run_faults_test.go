package main

// Faults of issue 8 around a run itself: the results folder removed while
// the scenario's lock is held, a disk that fills, drill's own output
// closed, --keep-on-failure, and the paths steps are handed.

import (
	"bytes"
	"encoding/json"
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

// Removing the results folder (lock file included, wherever it was) while a
// scenario runs must not let a second drill run it too.
func TestFaultLockSurvivesRemovedResultsFolder(t *testing.T) {
	t.Parallel()
	f := newFault(t)
	scenario := "testdata/faults/blocks/scenario.yaml"
	b := startDrill(t, f.env, "run", "--results", f.results, scenario)
	first := f.runOf(t, b, "fault-blocks")
	b.until(t, "the first run blocks", 30*time.Second, fileExists(f.marker("blocking")))

	require.NoError(t, os.RemoveAll(f.results))
	second := drill(t, f.env, "run", "--results", f.results, scenario)
	assert.Equal(t, 3, second.code, "the scenario is still running")
	assert.Contains(t, second.stderr, first.RunID)

	require.NoError(t, os.WriteFile(f.marker("release"), nil, 0o644))
	assert.Equal(t, 0, b.wait(t, 30*time.Second).code)
	again := drill(t, f.env, "run", "--results", f.results, scenario)
	assert.Equal(t, 0, again.code, "once the first run ended, the lock is free")
}

// mountTmpfs mounts a tmpfs of size bytes, for a disk that can fill.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testtools.Missing(t, "mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		testtools.Missing(t, "mount -t tmpfs: "+strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

func TestFaultDiskFillsDuringARun(t *testing.T) {
	t.Parallel()
	disk := mountTmpfs(t, "16m")
	f := newFault(t)
	f.results = filepath.Join(disk, "results")
	ballast := filepath.Join(disk, "ballast")
	f.env = append(f.env, "BALLAST="+ballast)
	// drill checks for 10 MiB free before it starts; the ballast fills the
	// disk as soon as the run is under way, leaving less than 1 MiB.
	b := startDrill(t, f.env, "run", "--results", f.results, "--cycles", "2", "testdata/faults/fills-disk/scenario.yaml")
	f.runOf(t, b, "fault-fills-disk")
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(disk, &st))
	free := int64(st.Bavail) * int64(st.Bsize)
	require.NoError(t, os.WriteFile(ballast, bytes.Repeat([]byte{0}, int(free)-512<<10), 0o644))
	require.NoError(t, os.WriteFile(f.marker("disk-full"), nil, 0o644))
	r := b.wait(t, time.Minute)

	assert.Equal(t, 3, r.code, "a full disk is drill's environment failing: exit 3")
	run := readRun(t, f.results, "fault-fills-disk")
	require.NotNil(t, run.Error)
	assert.Equal(t, results.ReasonResultsUnwritable, run.Error.Reason)
	assert.Contains(t, run.Error.Message, "no space left on device")
	require.Len(t, run.Cycles, 1, "no further cycle once drill cannot record")
	chatty := stepByName(t, run.Cycles[0], "chatty")
	assert.Equal(t, results.StatusPassed, chatty.Status, "the step itself was not disturbed (no broken pipe)")
	assert.Equal(t, results.StatusPassed, stepByName(t, run.Cycles[0], "free-space").Status)
	data, err := os.ReadFile(f.marker("teardown-ran"))
	require.NoError(t, err)
	assert.Equal(t, "cycle 1\n", string(data))
	assert.Contains(t, r.stdout+r.stderr, "ResultsUnwritable")
	f.assertNothingLeft(t, run)
}

// `drill run ... | head -1`, or a CI runner that closed drill's stderr: the
// drill finishes, tears down and records its result all the same.
func TestFaultClosedOutputStreams(t *testing.T) {
	t.Parallel()
	f := newFault(t)
	cmd := exec.Command(drillBin, "run", "--results", f.results, "-vv", "testdata/faults/keep-fails/scenario.yaml")
	cmd.Env = append(os.Environ(), append([]string{"CI=true"}, f.env...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	// Nobody reads: both pipes are closed before drill writes anything.
	require.NoError(t, stdout.Close())
	require.NoError(t, stderr.Close())
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.ExitCode(), "the drill's own result, not a SIGPIPE death")

	run := readRun(t, f.results, "fault-keep")
	assert.Equal(t, results.StatusFailed, run.Status)
	require.Len(t, run.Cycles, 3)
	for _, c := range run.Cycles {
		assert.Equal(t, results.StatusPassed, stepByName(t, c, "stop").Status, "teardown ran in cycle %d", c.Index)
	}
	f.assertNothingLeft(t, run)
}

func TestFaultKeepOnFailureStopsAndSaysHowToCleanUp(t *testing.T) {
	t.Parallel()
	f := newFault(t)
	r := drill(t, f.env, "run", "--results", f.results, "--keep-on-failure", "testdata/faults/keep-fails/scenario.yaml")
	assert.Equal(t, 1, r.code)
	data, err := os.ReadFile(f.marker("deployed"))
	require.NoError(t, err)
	assert.Equal(t, "cycle 1\n", string(data), "no further cycle was provisioned")

	run := readRun(t, f.results, "fault-keep")
	require.Len(t, run.Cycles, 3)
	assert.DirExists(t, run.Cycles[0].Workdir, "the failed cycle is kept")
	for _, c := range run.Cycles[1:] {
		assert.Equal(t, results.StatusSkipped, c.Status)
		require.NotNil(t, c.Error)
		assert.Contains(t, c.Error.Message, "--keep-on-failure")
	}
	assert.Contains(t, r.stderr, "kept for debugging")
	assert.Contains(t, r.stderr, run.Cycles[0].Workdir)
	assert.Contains(t, r.stderr, "drill gc --results "+f.results)
	validateSchema(t, results.RunSchemaFile, filepath.Join(f.results, "fault-keep", run.RunID+".json"))

	g := f.gc(t)
	assert.Equal(t, 0, g.code)
	assert.Contains(t, g.stdout, "removed       fault-keep/"+run.RunID+"  workdir "+run.Cycles[0].Workdir)
	f.assertNothingLeft(t, run)
	f.assertGCFindsNothing(t)
}

// Relative --results and TMPDIR: the step still gets absolute paths.
func TestPathsHandedToStepsAreAbsolute(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	cmd := exec.Command(drillBin, "run", "--results", "rel-results", filepath.Join(mustAbs(t, "testdata/faults/paths"), "scenario.yaml"))
	cmd.Dir = base
	require.NoError(t, os.Mkdir(filepath.Join(base, "tmp"), 0o755))
	cmd.Env = append(os.Environ(), "CI=true", "TMPDIR=tmp")
	out, _ := cmd.CombinedOutput()
	t.Logf("%s", out)
	run := readRun(t, filepath.Join(base, "rel-results"), "fault-paths")
	require.Equal(t, results.StatusPassed, run.Status, "the step found every path absolute")
	log, err := os.ReadFile(filepath.Join(base, "rel-results", stepByName(t, run.Cycles[0], "absolute").Log))
	require.NoError(t, err)
	assert.Contains(t, string(log), "DRILL_RESULTS_DIR="+filepath.Join(base, "rel-results"))
	assert.Contains(t, string(log), "DRILL_WORKDIR="+filepath.Join(base, "tmp", "drill-fault-paths-"))
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	require.NoError(t, err)
	return abs
}

// -o json over several scenarios is JSON Lines; --log-format json makes
// every line on stderr a JSON object, progress included; a failed step's
// output tail and log path are in front of the operator.
func TestMachineReadableOutput(t *testing.T) {
	t.Parallel()
	f := newFault(t)
	r := drill(t, f.env, "run", "--results", f.results, "-o", "json", "--log-format", "json",
		"testdata/faults/keep-fails/scenario.yaml", "testdata/faults/paths/scenario.yaml")
	assert.Equal(t, 1, r.code)

	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2, "one DrillRun per line")
	names := map[string]bool{}
	for _, line := range lines {
		var doc results.Run
		require.NoError(t, json.Unmarshal([]byte(line), &doc), line)
		assert.Equal(t, "DrillRun", doc.Kind)
		names[doc.Scenario.Name] = true
	}
	assert.Equal(t, map[string]bool{"fault-keep": true, "fault-paths": true}, names)

	var events, failed []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var obj map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &obj), "not a JSON object on stderr: %q", line)
		for _, k := range []string{"level", "time", "msg"} {
			assert.Contains(t, obj, k, line)
		}
		events = append(events, obj)
		if obj["msg"] == "step finished" && obj["status"] == "failed" {
			failed = append(failed, obj)
		}
	}
	assert.GreaterOrEqual(t, len(events), 10, "progress is on stderr, as JSON")
	require.Len(t, failed, 3, "the deploy step of each of the 3 cycles")
	assert.Equal(t, "fault-keep", failed[0]["scenario"])
	assert.Contains(t, failed[0]["outputTail"], "the database refused the migration")
	assert.Contains(t, failed[0]["log"], filepath.Join(f.results, "fault-keep"))
}

func TestFailedStepShowsItsOutputAndLog(t *testing.T) {
	t.Parallel()
	f := newFault(t)
	r := drill(t, f.env, "run", "--results", f.results, "--cycles", "1", "testdata/faults/keep-fails/scenario.yaml")
	assert.Equal(t, 1, r.code)
	run := readRun(t, f.results, "fault-keep")
	deploy := stepByName(t, run.Cycles[0], "deploy")
	assert.Contains(t, r.stderr, "last lines of its output:\n")
	assert.Contains(t, r.stderr, "│ the database refused the migration\n")
	assert.Contains(t, r.stderr, "log: "+filepath.Join(f.results, deploy.Log)+"\n")
}
