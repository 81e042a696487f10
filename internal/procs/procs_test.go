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
