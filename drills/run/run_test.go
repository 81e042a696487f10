package run_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redeploy-drill/drill/drills"
	"github.com/redeploy-drill/drill/drills/run"
	"github.com/redeploy-drill/drill/internal/procs"
	"github.com/redeploy-drill/drill/internal/testtools"
)

// newEnv returns a step environment with a fresh workdir, the host's PATH
// (to find bash, sleep, env) and a buffer as the step log.
func newEnv(t *testing.T) (*drills.Env, *testtools.Buffer) {
	t.Helper()
	log := &testtools.Buffer{}
	dir := t.TempDir()
	return &drills.Env{
		Workdir: dir,
		Vars:    map[string]string{"PATH": os.Getenv("PATH"), "HOME": dir},
		Log:     log,
	}, log
}

// alive reports whether pid is a live process. A zombie is dead: it is only
// waiting for a parent (maybe an init that does not reap) to collect it.
func alive(pid int) bool { return procs.Alive(pid) }

// waitPid polls until the script has written a pid into path.
func waitPid(t *testing.T, path string) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(path)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 20*time.Second, 10*time.Millisecond, "script never wrote %s", path)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// start runs step in the background and returns a function that waits for
// its result, failing the test if it does not come within a bound.
func start(t *testing.T, ctx context.Context, step drills.Step, env *drills.Env) func() error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- step.Run(ctx, env) }()
	return func() error {
		t.Helper()
		timer := time.NewTimer(30 * time.Second)
		defer timer.Stop()
		select {
		case err := <-done:
			return err
		case <-timer.C:
			require.FailNow(t, "Run did not return")
			return nil
		}
	}
}

func TestRunReportsExitCode(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		wantCode   int // -1: success
		wantSignal syscall.Signal
		wantLog    string
		notInLog   string
	}{
		{name: "success-returns-nil", script: "echo hello", wantCode: -1, wantLog: "hello\n"},
		{name: "exit-three-returns-code-3", script: "echo before; exit 3", wantCode: 3, wantLog: "before\n"},
		{name: "failing-command-stops-script", script: "false; echo unreachable", wantCode: 1, notInLog: "unreachable"},
		{name: "pipefail-catches-failure-inside-pipe", script: "false | true; echo unreachable", wantCode: 1, notInLog: "unreachable"},
		{name: "unset-variable-is-an-error", script: `echo "$NOT_SET_ANYWHERE"; echo unreachable`, wantCode: 1, wantLog: "NOT_SET_ANYWHERE: unbound variable", notInLog: "unreachable"},
		{name: "signal-returns-128-plus-signal", script: "kill -KILL $$", wantCode: 137, wantSignal: syscall.SIGKILL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, log := newEnv(t)
			err := run.New(tt.script).Run(t.Context(), env)
			if tt.wantCode < 0 {
				require.NoError(t, err)
			} else {
				var xe *run.ExitError
				require.ErrorAs(t, err, &xe)
				assert.Equal(t, tt.wantCode, xe.Code)
				assert.Equal(t, tt.wantSignal, xe.Signal)
				if tt.wantSignal == 0 {
					assert.EqualError(t, err, "script exited with code "+strconv.Itoa(tt.wantCode))
				}
				assert.NotNil(t, xe.Unwrap(), "ExitError unwraps to *exec.ExitError")
			}
			assert.Contains(t, log.String(), tt.wantLog)
			if tt.notInLog != "" {
				assert.NotContains(t, log.String(), tt.notInLog)
			}
		})
	}
}

func TestRunRunsInWorkdir(t *testing.T) {
	env, log := newEnv(t)
	require.NoError(t, os.WriteFile(filepath.Join(env.Workdir, "input.txt"), []byte("from-workdir\n"), 0o644))

	require.NoError(t, run.New("cat input.txt; touch made-here").Run(t.Context(), env))

	assert.Equal(t, "from-workdir\n", log.String())
	assert.FileExists(t, filepath.Join(env.Workdir, "made-here"))
}

func TestRunCancelStopsScriptAndBackgroundChild(t *testing.T) {
	env, _ := newEnv(t)
	script := `bash -c 'echo $$ > child.pid; exec sleep 300' &
echo $$ > shell.pid
wait`
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	wait := start(t, ctx, run.New(script, run.WithGrace(20*time.Second)), env)
	child := waitPid(t, filepath.Join(env.Workdir, "child.pid"))
	shell := waitPid(t, filepath.Join(env.Workdir, "shell.pid"))

	cause := &drills.TimeoutError{What: "step", Timeout: time.Minute}
	cancel(cause)
	err := wait()

	var stopped *run.StoppedError
	require.ErrorAs(t, err, &stopped)
	assert.False(t, stopped.Killed, "sleep and bash die on SIGTERM; no SIGKILL needed")
	assert.Equal(t, shell, stopped.PGID)
	var te *drills.TimeoutError
	require.ErrorAs(t, err, &te, "the runner must see the step's timeout cause")
	assert.Same(t, cause, te)
	assert.ErrorIs(t, err, context.Canceled)
	// KillGroup returned once the group was empty, so both are gone by now.
	assert.False(t, alive(child), "background child %d survived", child)
	assert.False(t, alive(shell), "shell %d survived", shell)
}

func TestRunDeadlineStopsScript(t *testing.T) {
	env, log := newEnv(t)
	cause := &drills.TimeoutError{What: "step", Timeout: time.Second}
	ctx, cancel := context.WithTimeoutCause(t.Context(), cause.Timeout, cause)
	defer cancel()

	err := run.New("echo started; sleep 300").Run(ctx, env)

	var te *drills.TimeoutError
	require.ErrorAs(t, err, &te)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "step timed out after 1s")
	assert.Contains(t, log.String(), "started\n")
	assert.Contains(t, log.String(), "[drill] script stopped with SIGTERM")
}

func TestRunKillsGroupThatIgnoresSIGTERMAfterGrace(t *testing.T) {
	env, _ := newEnv(t)
	// The ignored disposition is inherited, so the child ignores SIGTERM too.
	script := `trap '' TERM
bash -c 'echo $$ > child.pid; exec sleep 300' &
echo $$ > shell.pid
wait`
	const grace = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wait := start(t, ctx, run.New(script, run.WithGrace(grace)), env)
	child := waitPid(t, filepath.Join(env.Workdir, "child.pid"))
	shell := waitPid(t, filepath.Join(env.Workdir, "shell.pid"))

	canceled := time.Now()
	cancel()
	err := wait()

	var stopped *run.StoppedError
	require.ErrorAs(t, err, &stopped)
	assert.True(t, stopped.Killed, "the group ignored SIGTERM and must have been killed")
	assert.GreaterOrEqual(t, time.Since(canceled), grace, "SIGKILL came before the grace ended")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "SIGKILL after a 300ms grace")
	require.Eventually(t, func() bool { return !alive(child) && !alive(shell) },
		10*time.Second, 10*time.Millisecond, "shell %d or child %d survived SIGKILL", shell, child)
}

func TestRunLetsScriptCleanUpOnSIGTERM(t *testing.T) {
	env, log := newEnv(t)
	script := `trap 'echo cleaning up; exit 0' TERM
touch ready
sleep 300 &
wait`
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wait := start(t, ctx, run.New(script, run.WithGrace(20*time.Second)), env)
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(env.Workdir, "ready"))
		return err == nil
	}, 20*time.Second, 10*time.Millisecond)

	cancel()
	err := wait()

	var stopped *run.StoppedError
	require.ErrorAs(t, err, &stopped, "a canceled step is stopped even if its script exits 0 on SIGTERM")
	assert.False(t, stopped.Killed)
	assert.Contains(t, log.String(), "cleaning up\n")
}

func TestRunStdinIsEmpty(t *testing.T) {
	env, log := newEnv(t)
	ctx, cancel := context.WithTimeoutCause(t.Context(), 30*time.Second,
		&drills.TimeoutError{What: "step", Timeout: 30 * time.Second})
	defer cancel()

	// Were drill's own stdin passed through, read would block on this pipe
	// until the timeout.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdin := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = stdin; r.Close(); w.Close() })

	script, want := `read -r answer; echo "got $answer"`, ""
	if runtime.GOOS == "linux" {
		// Evidence of what stdin is, where /proc shows it.
		script, want = "readlink /proc/$$/fd/0; "+script, "/dev/null\n"
	}
	err = run.New(script).Run(ctx, env)

	var xe *run.ExitError
	require.ErrorAs(t, err, &xe, "read must fail at EOF, not wait for a human")
	assert.Equal(t, 1, xe.Code)
	var stopped *run.StoppedError
	assert.False(t, errors.As(err, &stopped), "the script was stopped by the timeout: %v", err)
	assert.Equal(t, want, log.String())
}

func TestRunEnvironmentIsExactlyVars(t *testing.T) {
	t.Setenv("DRILL_TEST_PARENT_ONLY", "must-not-leak")
	env, log := newEnv(t)
	env.Vars["DRILL_RUN_ID"] = "20261127T071500Z-3f9a1c"
	env.Vars["WITH_SPACES"] = "a b  c"
	env.Vars["MULTI_LINE"] = "one\ntwo"
	env.Vars["EMPTY"] = ""

	require.NoError(t, run.New("env -0").Run(t.Context(), env))

	got := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(log.String(), "\x00"), "\x00") {
		k, v, ok := strings.Cut(kv, "=")
		require.True(t, ok, "malformed entry %q", kv)
		got[k] = v
	}
	// bash itself exports these three; nothing else may appear.
	wd, err := filepath.EvalSymlinks(env.Workdir)
	require.NoError(t, err)
	assert.Equal(t, wd, got["PWD"])
	assert.Contains(t, got, "SHLVL")
	assert.Contains(t, got, "_")
	delete(got, "PWD")
	delete(got, "SHLVL")
	delete(got, "_")
	assert.Equal(t, env.Vars, got)
}

func TestRunWritesBothStreamsRedactedToLog(t *testing.T) {
	env, _ := newEnv(t)
	const secret = "s3cr3t-t0ken-value"
	env.Vars["API_TOKEN"] = secret
	var file bytes.Buffer
	redacted := drills.NewRedactor(secret).Writer(&file)
	env.Log = redacted

	script := `echo "stdout token=$API_TOKEN"
echo "stderr token=$API_TOKEN" >&2
printf 'no newline %s' "$API_TOKEN"`
	require.NoError(t, run.New(script).Run(t.Context(), env))
	require.NoError(t, redacted.Close())

	assert.Equal(t, "stdout token=***\nstderr token=***\nno newline ***", file.String())
}

func TestRunLeavesDetachedDaemonRunning(t *testing.T) {
	tests := []struct {
		name   string
		script string
	}{
		{
			name:   "nohup-with-redirected-output",
			script: `nohup sleep 300 >daemon.log 2>&1 & echo $! > daemon.pid`,
		},
		{
			// setsid without redirection keeps the output pipe open: Run must
			// not wait for it beyond a short bound.
			name:   "setsid-holding-output-pipe",
			script: `setsid sleep 300 & echo $! > daemon.pid; echo started`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := newEnv(t)
			err := run.New(tt.script).Run(t.Context(), env)
			require.NoError(t, err)
			pid := waitPid(t, filepath.Join(env.Workdir, "daemon.pid"))
			assert.True(t, alive(pid), "daemon %d did not survive the script's normal exit", pid)
		})
	}
}

func TestRunReportsStartedProcessGroup(t *testing.T) {
	env, log := newEnv(t)
	var started []int
	pgid := `$(cut -d' ' -f5 /proc/$$/stat)`
	if runtime.GOOS != "linux" {
		pgid = `$(ps -o pgid= -p $$ | tr -d ' ')`
	}
	step := run.New(`echo "$$ `+pgid+`"`,
		run.WithStarted(func(pgid int) { started = append(started, pgid) }))

	require.NoError(t, step.Run(t.Context(), env))

	require.Len(t, started, 1)
	want := strconv.Itoa(started[0])
	assert.Equal(t, want+" "+want+"\n", log.String(), "shell pid and its process group are the reported id")
}

func TestRunCanceledBeforeStartRunsNothing(t *testing.T) {
	env, _ := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	err := run.New("touch ran").Run(ctx, env)

	require.ErrorIs(t, err, context.Canceled)
	assert.NoFileExists(t, filepath.Join(env.Workdir, "ran"))
}

func TestRunShellMissing(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		shell string
	}{
		{name: "bash-not-on-step-path", path: t.TempDir(), shell: ""},
		{name: "no-path-at-all", path: "", shell: ""},
		{name: "named-shell-absent", path: os.Getenv("PATH"), shell: "no-such-shell-here"},
		{name: "shell-path-absent", path: os.Getenv("PATH"), shell: "/nonexistent/bash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := newEnv(t)
			env.Vars["PATH"] = tt.path
			var opts []run.Option
			if tt.shell != "" {
				opts = append(opts, run.WithShell(tt.shell))
			}
			err := run.New("touch ran", opts...).Run(t.Context(), env)
			var missing *drills.ToolMissingError
			require.ErrorAs(t, err, &missing)
			assert.NoFileExists(t, filepath.Join(env.Workdir, "ran"))
		})
	}
}

func TestRunWithShellPath(t *testing.T) {
	env, log := newEnv(t)
	bash := filepath.Join(env.Workdir, "my-bash")
	require.NoError(t, os.WriteFile(bash, []byte("#!/bin/sh\necho \"wrapped $*\"\n"), 0o755))

	require.NoError(t, run.New("true", run.WithShell("./my-bash")).Run(t.Context(), env))

	assert.Equal(t, "wrapped -euo pipefail -c true\n", log.String())
}

func TestKillGroupRefusesDangerousIDs(t *testing.T) {
	for _, pgid := range []int{-1, 0, 1, syscall.Getpgrp()} {
		killed, err := run.KillGroup(pgid, 0)
		assert.Error(t, err, "pgid %d", pgid)
		assert.False(t, killed)
	}
}

func TestKillGroupOfGoneGroupIsNoError(t *testing.T) {
	env, _ := newEnv(t)
	var pgid int
	require.NoError(t, run.New("true", run.WithStarted(func(p int) { pgid = p })).Run(t.Context(), env))

	killed, err := run.KillGroup(pgid, time.Second)

	require.NoError(t, err)
	assert.False(t, killed)
}
