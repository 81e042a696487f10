package procs_test

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// start runs a command detached in its own session, as a deploy step's
// daemon would be, with the run marker in its environment.
func start(t *testing.T, marker string, script string) int {
	t.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DRILL_RUN_ID=" + marker}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	require.NoError(t, cmd.Start())
	pid := cmd.Process.Pid
	// Reap it when it dies, so it does not linger as a zombie of the test.
	go func() { _ = cmd.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

func TestWithEnvFindsOnlyTheRunsProcesses(t *testing.T) {
	marker := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	mine := start(t, marker, "exec sleep 300")
	other := start(t, marker+"-other", "exec sleep 300")

	var found []procs.Process
	// bash execs sleep right after it starts: poll until it has.
	require.Eventually(t, func() bool {
		var err error
		found, err = procs.WithEnv("DRILL_RUN_ID", marker)
		return err == nil && len(found) == 1 && found[0].Comm == "sleep"
	}, 10*time.Second, 10*time.Millisecond, "the process is found by its marker")
	assert.Equal(t, mine, found[0].Pid, "only the exact value matches")
	assert.True(t, procs.Alive(other))

	started, ok := procs.StartTime(mine)
	require.True(t, ok)
	assert.WithinDuration(t, time.Now(), started, time.Minute)
}

func TestStopKillsWhatIgnoresSIGTERM(t *testing.T) {
	marker := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	polite := start(t, marker, "exec sleep 300")
	ready := t.TempDir() + "/trapped"
	stubborn := start(t, marker, "trap '' TERM; touch "+ready+"; while :; do sleep 0.1; done")
	require.Eventually(t, func() bool { _, err := os.Stat(ready); return err == nil }, 10*time.Second, 10*time.Millisecond,
		"the stubborn process ignores SIGTERM before we send it")

	found, err := procs.WithEnv("DRILL_RUN_ID", marker)
	require.NoError(t, err)
	t.Logf("found %v", found)
	assert.GreaterOrEqual(t, len(found), 2, "both, and the stubborn one's sleep child")

	left := procs.Stop(found, 500*time.Millisecond)
	assert.Empty(t, left)
	assert.False(t, procs.Alive(polite))
	assert.False(t, procs.Alive(stubborn), "SIGKILL after the grace")
}

// found polls WithEnv until it lists pid, and returns what it lists.
func found(t *testing.T, marker string, pid int) []procs.Process {
	t.Helper()
	var ps []procs.Process
	require.Eventually(t, func() bool {
		var err error
		ps, err = procs.WithEnv("DRILL_RUN_ID", marker)
		if err != nil {
			return false
		}
		for _, p := range ps {
			if p.Pid == pid {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "pid %d is found by its marker", pid)
	return ps
}

// waitFile polls until path exists: the script got past its traps.
func waitFile(t *testing.T, path string) {
	t.Helper()
	require.Eventually(t, func() bool { _, err := os.Stat(path); return err == nil }, 10*time.Second, 10*time.Millisecond,
		"the script wrote %s", path)
}

func pids(ps []procs.Process) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.Pid)
	}
	return out
}

func TestSettleWaitsForAProcessThatExitsOnSIGTERM(t *testing.T) {
	marker := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	ready := t.TempDir() + "/trapped"
	// Like a daemon that shuts down cleanly: it takes ~200 ms after SIGTERM.
	pid := start(t, marker, "trap 'sleep 0.2; exit 0' TERM; touch "+ready+"; while :; do sleep 0.05; done")
	waitFile(t, ready)
	ps := found(t, marker, pid)

	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	begin := time.Now()
	left := procs.Settle(ps, 5*time.Second)
	took := time.Since(begin)

	assert.Empty(t, left)
	assert.False(t, procs.Alive(pid), "Settle returned before the process exited")
	assert.GreaterOrEqual(t, took, 150*time.Millisecond, "the process was still shutting down, so Settle had to wait")
	assert.Less(t, took, 4*time.Second, "Settle returns once the process is gone, not at the end of the grace")
}

func TestSettleReturnsAProcessThatIgnoresSIGTERMAfterTheGrace(t *testing.T) {
	marker := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	ready := t.TempDir() + "/trapped"
	stubborn := start(t, marker, "trap '' TERM; touch "+ready+"; while :; do sleep 0.05; done")
	waitFile(t, ready)
	ps := found(t, marker, stubborn)

	require.NoError(t, syscall.Kill(stubborn, syscall.SIGTERM))
	const grace = 500 * time.Millisecond
	begin := time.Now()
	left := procs.Settle(ps, grace)
	took := time.Since(begin)

	assert.Contains(t, pids(left), stubborn)
	for _, p := range left {
		assert.True(t, procs.Alive(p.Pid), "%v is returned, so it must be running", p)
	}
	assert.GreaterOrEqual(t, took, grace)
	assert.Less(t, took, grace+3*time.Second, "the grace, not much more")
	assert.True(t, procs.Alive(stubborn), "Settle sends no signal")
}

func TestSettleTreatsAGoneOrRecycledPidAsExited(t *testing.T) {
	marker := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	gone := start(t, marker, "exit 0")
	goneStarted, _ := procs.StartTime(gone) // zero when it is already gone: fine
	require.Eventually(t, func() bool { return !procs.Alive(gone) }, 10*time.Second, 10*time.Millisecond)

	// A pid now held by another process: the one found started an hour
	// before the process that holds the pid today.
	live := start(t, marker, "exec sleep 300")
	liveStarted, ok := procs.StartTime(live)
	require.True(t, ok)
	recycled := procs.Process{Pid: live, Comm: "old", Started: liveStarted.Add(-time.Hour)}

	begin := time.Now()
	left := procs.Settle([]procs.Process{{Pid: gone, Comm: "gone", Started: goneStarted}, recycled}, 5*time.Second)

	assert.Empty(t, left)
	assert.Less(t, time.Since(begin), 3*time.Second, "nothing to wait for: well under the 5s grace")
	assert.True(t, procs.Alive(live), "the process holding the recycled pid is left alone")

	same := procs.Process{Pid: live, Comm: "sleep", Started: liveStarted}
	assert.Equal(t, []procs.Process{same}, procs.Settle([]procs.Process{same}, 0),
		"the same pid with the same start time is still running")
}

// A process that forks a child every few milliseconds while it is being
// stopped (a restart loop) leaves no child behind: StopAllWithEnv scans
// again until nothing carries the variable.
func TestStopAllWithEnvCatchesChildrenForkedMeanwhile(t *testing.T) {
	testtools.Need(t, "bash", "the test forks with bash")
	value := fmt.Sprintf("stop-all-%d", os.Getpid())
	// The parent ignores SIGTERM and keeps forking until SIGKILL: each
	// child sleeps long enough to outlive the first round.
	cmd := exec.Command("bash", "-c", `trap '' TERM; while true; do sleep 30 & sleep 0.02; done`)
	cmd.Env = append(os.Environ(), "DRILL_TEST_STOP_ALL="+value)
	require.NoError(t, cmd.Start())
	go func() { _ = cmd.Wait() }()
	t.Cleanup(func() {
		if ps, _ := procs.WithEnv("DRILL_TEST_STOP_ALL", value); len(ps) > 0 {
			procs.Stop(ps, 0)
		}
	})
	require.Eventually(t, func() bool {
		ps, _ := procs.WithEnv("DRILL_TEST_STOP_ALL", value)
		return len(ps) >= 3
	}, 10*time.Second, 10*time.Millisecond, "the loop forks")

	stopped, left, err := procs.StopAllWithEnv("DRILL_TEST_STOP_ALL", value, 300*time.Millisecond)
	require.NoError(t, err)
	assert.Empty(t, left)
	assert.GreaterOrEqual(t, len(stopped), 3)
	ps, err := procs.WithEnv("DRILL_TEST_STOP_ALL", value)
	require.NoError(t, err)
	assert.Empty(t, ps, "no child forked during the stop survives it")
}
