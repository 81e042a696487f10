//go:build linux

package terraform_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRelayClearsTheParentDeathSignal starts the relay the way
// terraform-exec does on Linux, with a parent-death SIGKILL, from a thread
// that then ends (the signal fires when the thread that started a process
// ends, as it would when drill is killed): the relay must live on.
func TestRelayClearsTheParentDeathSignal(t *testing.T) {
	dir := t.TempDir()
	ready, release := filepath.Join(dir, "ready"), filepath.Join(dir, "release")
	cmd := relayCommand(t, fmt.Sprintf(`touch %s; while [ ! -e %s ]; do sleep 0.02; done; exit 5`, ready, release))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}

	started := make(chan error, 1)
	tid := make(chan int, 1)
	end := make(chan struct{})
	onEndingThread(func() {
		tid <- syscall.Gettid()
		started <- cmd.Start()
		<-end
	})
	require.NoError(t, <-started)
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	// terraform runs, so the relay has passed the point where it clears
	// the parent-death signal; now end the thread that started it.
	waitFile(t, ready)
	close(end)
	thread := fmt.Sprintf("/proc/self/task/%d", <-tid)
	require.Eventually(t, func() bool { _, err := os.Stat(thread); return os.IsNotExist(err) }, 10*time.Second, 5*time.Millisecond,
		"the thread that started the relay ended")

	require.NoError(t, os.WriteFile(release, nil, 0o644))
	assert.Equal(t, 5, exitCode(t, cmd), "the relay outlived the thread that started it")
}

// onEndingThread runs fn in a goroutine locked to an OS thread that ends
// when fn returns: Go terminates a locked thread whose goroutine exits, but
// not the main thread (it only wedges it), so a goroutine that lands there
// holds it while another one tries.
func onEndingThread(fn func()) {
	go func() {
		runtime.LockOSThread()
		if syscall.Gettid() != os.Getpid() {
			fn()
			return // still locked: the thread ends here
		}
		defer runtime.UnlockOSThread()
		done := make(chan struct{})
		onEndingThread(func() { defer close(done); fn() })
		<-done
	}()
}
