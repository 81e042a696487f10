//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/reaper"
	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
)

// orphanScenario leaves, in every cycle, an orphan that exits on its own
// (a double fork, as a daemonizing script does), records who adopted it,
// and then fails unless the orphan is reaped within 10 s (a zombie stays
// in /proc in state Z until its new parent waits for it). A second orphan
// outlives its cycle and is left for the sweep to stop, which makes it a
// zombie of whoever adopted it too.
const orphanScenario = `apiVersion: drill/v1
kind: Scenario
metadata: {name: orphans}
spec:
  cycles: 2
  passEnv: [MARKER_DIR]
  target: {none: {}}
  steps:
    - name: orphan
      run: |
        ( sh -c 'echo $$ > "$MARKER_DIR/orphan-$DRILL_CYCLE"; exec sleep 2' & )
        ( setsid sh -c 'echo $$ > "$MARKER_DIR/daemon-$DRILL_CYCLE"; exec sleep 600' & )
        until [ -s "$MARKER_DIR/orphan-$DRILL_CYCLE" ]; do sleep 0.01; done
        pid=$(cat "$MARKER_DIR/orphan-$DRILL_CYCLE")
        init=$(awk '{print $4}' /proc/$PPID/stat)
        # The subshell that started it may not have exited yet: wait (up
        # to 5 s) until the orphan has a new parent.
        for i in $(seq 500); do
          adopter=$(awk '{print $4}' /proc/$pid/stat)
          [ "$adopter" = "$init" ] && break
          sleep 0.01
        done
        echo "$adopter" > "$MARKER_DIR/adopter-$DRILL_CYCLE"
        echo "$init" > "$MARKER_DIR/drill-parent-$DRILL_CYCLE"
        echo $PPID > "$MARKER_DIR/drill-$DRILL_CYCLE"
    - name: reaped
      run: |
        pid=$(cat "$MARKER_DIR/orphan-$DRILL_CYCLE")
        for i in $(seq 1000); do
          [ -e /proc/$pid ] || exit 0
          sleep 0.01
        done
        echo "orphan $pid still there: $(cat /proc/$pid/stat)"
        exit 1
`

func orphanFiles(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "orphans.yaml")
	require.NoError(t, os.WriteFile(file, []byte(orphanScenario), 0o644))
	return dir, file
}

func readInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err, path)
	return n
}

// With DRILL_REAPER=1 drill runs under its own init, a child subreaper:
// the orphans a step leaves are adopted by the init, not by the machine's
// PID 1, and reaped as they exit (the one left running is stopped by the
// sweep, then reaped too, and is still seen by the clean-teardown check
// although the init adopted it); the real drill is the init's child, and
// the exit code is the real drill's (1: the guideline does not hold).
func TestReaperAdoptsAndReapsOrphans(t *testing.T) {
	t.Parallel()
	markers, file := orphanFiles(t)
	resultsDir := t.TempDir()
	b := startDrill(t, []string{"MARKER_DIR=" + markers, reaper.Env + "=1"}, "run", "--results", resultsDir, file)
	init := b.cmd.Process.Pid
	r := b.wait(t, 2*time.Minute)
	require.Equal(t, 1, r.code, "the daemon fails clean-teardown")
	for _, c := range []string{"1", "2"} {
		assert.Equal(t, init, readInt(t, filepath.Join(markers, "drill-parent-"+c)), "the real drill is the init's child")
		assert.Equal(t, init, readInt(t, filepath.Join(markers, "adopter-"+c)), "the init adopted the orphan")
		assert.False(t, alive(readInt(t, filepath.Join(markers, "daemon-"+c))), "the sweep stopped the daemon")
	}
	assertOnlyTheDaemonLeft(t, readRun(t, resultsDir, "orphans"))
	assert.NotContains(t, r.stderr, "cannot become a child subreaper")
}

// assertOnlyTheDaemonLeft: every step passed (the orphans were reaped in
// time), and clean-teardown names the daemon, adopted by the init, that the
// sweep found and stopped.
func assertOnlyTheDaemonLeft(t *testing.T, run *results.Run) {
	t.Helper()
	assert.Equal(t, results.StatusPassed, run.Status)
	for _, c := range run.Cycles {
		for _, st := range c.Steps {
			assert.Equal(t, results.StatusPassed, st.Status, "cycle %d step %s", c.Index, st.Name)
		}
	}
	require.NotNil(t, run.Guideline)
	for _, ch := range run.Guideline.Checks {
		if ch.Name == "clean-teardown" {
			assert.False(t, ch.OK)
			assert.Contains(t, ch.Detail, "processes still running after teardown (stopped by drill): sleep (pid ")
		}
	}
}

// As the PID 1 of a PID namespace (a container's entrypoint; here through
// unshare, no container engine needed), drill becomes the init by itself:
// every orphan is the kernel's to hand to PID 1, and none is left a zombie.
// SIGTERM to the init reaches the real drill once: it runs teardown and
// exits 143.
func TestReaperAsPID1(t *testing.T) {
	t.Parallel()
	testtools.Need(t, "unshare", "apt-get install util-linux")
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace needs root here")
	}
	markers, file := orphanFiles(t)
	resultsDir := t.TempDir()
	unshare := func(args ...string) *exec.Cmd {
		return exec.Command("unshare", append([]string{"--pid", "--fork", "--mount-proc", "--kill-child", drillBin}, args...)...)
	}
	cmd := unshare("run", "--results", resultsDir, file)
	cmd.Env = append(os.Environ(), "CI=true", "MARKER_DIR="+markers)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	require.Equal(t, 1, ee.ExitCode(), "the daemon fails clean-teardown: %s", out)
	for _, c := range []string{"1", "2"} {
		assert.Equal(t, 1, readInt(t, filepath.Join(markers, "drill-parent-"+c)), "the real drill is PID 1's child")
		assert.Equal(t, 1, readInt(t, filepath.Join(markers, "adopter-"+c)), "PID 1 adopted the orphan")
	}
	assertOnlyTheDaemonLeft(t, readRun(t, resultsDir, "orphans"))

	// A SIGTERM from outside (docker stop, a pod deleted) reaches PID 1
	// only; the real drill must get it exactly once: the first signal
	// runs teardown, a second would only print a reminder.
	slow := filepath.Join(markers, "slow.yaml")
	require.NoError(t, os.WriteFile(slow, []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: slow}
spec:
  passEnv: [MARKER_DIR]
  target: {none: {}}
  steps:
    - {name: wait, run: 'echo $PPID > "$MARKER_DIR/slow-drill"; sleep 600'}
  teardown:
    - {name: down, run: 'touch "$MARKER_DIR/teardown"'}
`), 0o644))
	term := unshare("run", "--results", resultsDir, slow)
	term.Env = append(os.Environ(), "CI=true", "MARKER_DIR="+markers)
	var stderr testtools.Buffer
	term.Stderr = &stderr
	require.NoError(t, term.Start())
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = term.Wait(); close(done) }()
	t.Cleanup(func() { _ = term.Process.Kill(); <-done })
	deadline := time.Now().Add(time.Minute)
	for !fileExists(filepath.Join(markers, "slow-drill"))() {
		require.True(t, time.Now().Before(deadline), "the step never started: %s", stderr.String())
		<-time.After(20 * time.Millisecond)
	}
	// The init is PID 1 inside; outside, it is unshare's only child.
	init := childOf(t, term.Process.Pid)
	require.NoError(t, syscall.Kill(init, syscall.SIGTERM))
	select {
	case <-done:
		require.ErrorAs(t, waitErr, &ee, "%s", stderr.String())
		assert.Equal(t, 143, ee.ExitCode(), "%s", stderr.String())
	case <-time.After(time.Minute):
		require.FailNow(t, "drill did not stop after SIGTERM", "%s", stderr.String())
	}
	assert.FileExists(t, filepath.Join(markers, "teardown"))
	assert.NotContains(t, stderr.String(), "teardown is running so nothing is left behind", "one SIGTERM reached the real drill once")
}

// childOf is the only child of pid, whichever of its threads started it
// (each thread's children file lists its own).
func childOf(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	require.NoError(t, err)
	var fields []string
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err == nil {
			fields = append(fields, strings.Fields(string(b))...)
		}
	}
	require.Len(t, fields, 1, "children of %d", pid)
	n, err := strconv.Atoi(fields[0])
	require.NoError(t, err)
	return n
}

// When the real drill is killed (the OOM killer, kill -9), its init does
// not exit at once, which in a container would take every process with
// it: it waits, reaping, for what the real drill left running (terraform
// behind its relay saving its state; here a process in a session of its
// own that writes a marker a second later), then exits 128+9.
func TestReaperWaitsForWhatAKilledDrillLeft(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	markers := t.TempDir()
	file := filepath.Join(dir, "straggler.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: straggler}
spec:
  passEnv: [MARKER_DIR]
  target: {none: {}}
  steps:
    - name: save
      run: |
        setsid sh -c 'sleep 1; touch "$MARKER_DIR/saved"' &
        echo $PPID > "$MARKER_DIR/drill"
        sleep 3
`), 0o644))
	b := startDrill(t, []string{"MARKER_DIR=" + markers, reaper.Env + "=1"}, "run", "--results", t.TempDir(), file)
	b.until(t, "the step started", time.Minute, fileExists(filepath.Join(markers, "drill")))
	real := readInt(t, filepath.Join(markers, "drill"))
	require.Equal(t, real, childOf(t, b.cmd.Process.Pid), "the step's drill is the init's only child")
	require.NoError(t, syscall.Kill(real, syscall.SIGKILL))
	r := b.wait(t, time.Minute)
	assert.Equal(t, 137, r.code, "the real drill's fate")
	assert.FileExists(t, filepath.Join(markers, "saved"), "the init waited for what the killed drill left")
}

// On a terminal (an SRE's, or `docker run -it`), the real drill's process
// group is made the terminal's foreground, so that a manual step can read
// the operator's answer (a background group would be stopped by SIGTTIN)
// and the shell gets its terminal back afterwards. The terminal is a real
// pseudo-terminal, made by script(1).
func TestReaperOnATerminal(t *testing.T) {
	t.Parallel()
	testtools.Need(t, "script", "apt-get install bsdutils")
	dir := t.TempDir()
	file := filepath.Join(dir, "ask.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`apiVersion: drill/v1
kind: Scenario
metadata: {name: ask}
spec:
  cycles: 1
  target: {none: {}}
  steps:
    - {name: ask, manual: "type done"}
`), 0o644))
	resultsDir := t.TempDir()
	cmd := exec.Command("script", "-qec", drillBin+" run --results "+resultsDir+" "+file+"; echo shell-back rc=$?", "/dev/null")
	// Not CI: a CI job has no operator, and drill refuses manual steps there.
	cmd.Env = append(os.Environ(), reaper.Env+"=1", "CI=")
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	var out testtools.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	// The answer waits in the terminal's input until the step reads it.
	_, err = in.Write([]byte("done\n"))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		require.FailNow(t, "drill on a terminal did not finish (stopped in the background?)", "%s", out.String())
	}
	_ = in.Close()
	require.NoError(t, err, "%s", out.String())
	assert.Contains(t, out.String(), "shell-back rc=1", "the shell ran on after drill, which exited 1 (a manual step fails automated)")
	run := readRun(t, resultsDir, "ask")
	require.NotEmpty(t, run.Cycles)
	var ask *results.Step
	for i := range run.Cycles[0].Steps {
		if run.Cycles[0].Steps[i].Name == "ask" {
			ask = &run.Cycles[0].Steps[i]
		}
	}
	require.NotNil(t, ask)
	assert.Equal(t, results.StatusPassed, ask.Status, "the operator's answer was read from the terminal")
}
