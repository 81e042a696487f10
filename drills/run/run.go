// Package run is the `run:` action of a scenario: a bash script run the way a
// runbook would run it unattended. The script gets exactly the step's
// environment, an empty stdin (a prompt fails instead of hanging the drill),
// the cycle's workdir as its cwd, and its own process group, so that a timeout
// or a cancellation can stop everything the script started.
package run

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/redeploy-drill/drill/drills"
)

// DefaultGrace is how long a stopped script gets between SIGTERM and SIGKILL.
const DefaultGrace = 5 * time.Second

// DefaultShell is the shell looked up on the step's PATH.
const DefaultShell = "bash"

// pipeDelay bounds how long Wait keeps reading output after the script has
// exited. A daemon the script started on purpose may still hold the output
// pipe; without a bound the step would never finish.
const pipeDelay = time.Second

// Option configures a run step.
type Option func(*step)

// WithGrace sets how long a stopped script and its children get to exit after
// SIGTERM before the whole process group gets SIGKILL. Zero or less means
// SIGKILL right away.
func WithGrace(d time.Duration) Option {
	return func(s *step) { s.grace = d }
}

// WithShell sets the shell: a name looked up on the step's PATH, or a path
// (absolute, or relative to the workdir). It must accept bash's
// `-euo pipefail -c script` arguments.
func WithShell(shell string) Option {
	return func(s *step) { s.shell = shell }
}

// WithStarted registers a function called with the process group id of the
// script as soon as it started (the group id is the shell's pid). It lets a
// caller keep a ledger of process groups to stop later, such as daemons a
// deploy step left running on purpose. It is called from Run's goroutine
// before Run waits for the script.
func WithStarted(fn func(pgid int)) Option {
	return func(s *step) { s.started = fn }
}

// New returns a step that runs script with `bash -euo pipefail -c`.
//
// When the script exits, Run returns at once: background processes the script
// left behind (a daemon started with nohup or setsid) keep running, because a
// deploy step may start a service that a teardown step stops. When ctx ends
// first, Run sends SIGTERM to the script's process group, SIGKILL after the
// grace, and returns a *StoppedError once the group is gone.
func New(script string, opts ...Option) drills.Step {
	s := &step{script: script, grace: DefaultGrace, shell: DefaultShell}
	for _, o := range opts {
		o(s)
	}
	return s
}

type step struct {
	script  string
	grace   time.Duration
	shell   string
	started func(pgid int)
}

// ExitError is returned when the script exits with a non-zero code, or is
// killed by a signal nobody in drill sent.
type ExitError struct {
	// Code is the exit code, or 128+signal when a signal killed the shell (as
	// shells report it).
	Code int
	// Signal is the signal that killed the shell, 0 when it exited.
	Signal syscall.Signal
	Err    *exec.ExitError
}

func (e *ExitError) Error() string {
	if e.Signal != 0 {
		return fmt.Sprintf("script killed by signal %s (code %d)", e.Signal, e.Code)
	}
	return fmt.Sprintf("script exited with code %d", e.Code)
}

func (e *ExitError) Unwrap() error { return e.Err }

// StoppedError is returned when the step's context ended before the script:
// the script's process group was stopped. It unwraps to context.Cause (a
// *drills.TimeoutError for a step timeout) and to the context's own error
// (context.Canceled or context.DeadlineExceeded).
type StoppedError struct {
	Cause error // context.Cause(ctx)
	Err   error // ctx.Err()
	// PGID is the process group that was stopped.
	PGID int
	// Killed says the group outlived the grace and got SIGKILL.
	Killed bool
	Grace  time.Duration
}

func (e *StoppedError) Error() string {
	how := "stopped with SIGTERM"
	if e.Killed {
		how = fmt.Sprintf("killed with SIGKILL after a %s grace", e.Grace)
	}
	msg := fmt.Sprintf("script %s: %v", how, e.Cause)
	if e.Err != nil && e.Err != e.Cause {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

func (e *StoppedError) Unwrap() []error {
	if e.Err == nil || e.Err == e.Cause {
		return []error{e.Cause}
	}
	return []error{e.Cause, e.Err}
}

// Run runs the script and waits for it, or stops it when ctx ends.
func (s *step) Run(ctx context.Context, env *drills.Env) error {
	log := env.ZapLogger()
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("run script: not started: %w", err)
	}
	shell, err := lookShell(s.shell, env)
	if err != nil {
		return &drills.ToolMissingError{Tool: s.shell, Err: err, Hint: "install it or put it on the step's PATH"}
	}

	out := env.Output()
	// Not exec.CommandContext: its Cancel and WaitDelay act on the shell
	// alone, and we must stop the whole group and choose when to SIGKILL.
	cmd := exec.Command(shell, "-euo", "pipefail", "-c", s.script)
	cmd.Dir = env.Workdir
	// Environ is never nil, so the parent's environment cannot leak in
	// (a nil Env would inherit it).
	cmd.Env = env.Environ()
	// A nil Stdin is os.DevNull: `read` gets EOF and fails under -e.
	cmd.Stdin = nil
	// One writer for both, so that os/exec uses one pipe and the log keeps
	// the order in which the script wrote.
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = pipeDelay

	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run script: start %s: %w", shell, err)
	}
	pgid := cmd.Process.Pid
	log.Debug("script started", zap.Int("pgid", pgid))
	if s.started != nil {
		s.started(pgid)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	select {
	case err := <-done:
		return s.exited(err, pgid, log)
	case <-ctx.Done():
		// The script may have finished at the same moment: its result wins,
		// so a daemon it left running on purpose is not stopped for nothing.
		select {
		case err := <-done:
			return s.exited(err, pgid, log)
		default:
		}
	}

	stopped := &StoppedError{Cause: context.Cause(ctx), Err: ctx.Err(), PGID: pgid, Grace: s.grace}
	log.Debug("stopping script", zap.Int("pgid", pgid), zap.NamedError("cause", stopped.Cause))
	killed, kerr := KillGroup(pgid, s.grace)
	stopped.Killed = killed
	// The group is gone, so Wait returns within pipeDelay.
	<-done
	if kerr != nil {
		log.Warn("stopping script's process group", zap.Int("pgid", pgid), zap.Error(kerr))
	}
	fmt.Fprintf(out, "\n[drill] %s (process group %d)\n", stopped.Error(), pgid)
	return stopped
}

// exited turns Wait's result into the step's error.
func (s *step) exited(err error, pgid int, log *zap.Logger) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		// The script succeeded; a process it left running still holds the
		// output pipe. Its output after this point is not in the log.
		log.Debug("script exited but a background process still holds its output",
			zap.Int("pgid", pgid))
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		xe := &ExitError{Code: ee.ExitCode(), Err: ee}
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			xe.Signal = ws.Signal()
			xe.Code = 128 + int(xe.Signal)
		}
		return xe
	}
	return fmt.Errorf("run script: wait: %w", err)
}

// lookShell resolves the shell like exec.LookPath, but on the step's PATH
// rather than drill's own, because the step's environment is all the script
// may depend on.
func lookShell(shell string, env *drills.Env) (string, error) {
	if shell == "" {
		return "", errors.New("no shell set")
	}
	if strings.Contains(shell, "/") {
		if !filepath.IsAbs(shell) {
			shell = filepath.Join(env.Workdir, shell)
		}
		return exec.LookPath(shell)
	}
	path, _ := env.Lookup("PATH")
	for _, dir := range filepath.SplitList(path) {
		// An empty or relative entry would resolve against drill's cwd, not
		// the script's; skip it like exec.LookPath refuses "." results.
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		if p, err := exec.LookPath(filepath.Join(dir, shell)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q not found on the step's PATH %q", shell, path)
}

// KillGroup stops the process group pgid: SIGTERM to every member, then
// SIGKILL to every member if any is still there after grace. It returns once
// the group is empty or SIGKILL was sent, and reports whether SIGKILL was
// needed. A group that is already gone is not an error. It refuses group ids
// that would signal drill itself or every process (0, 1, negative, drill's own
// group).
//
// It lets a teardown or garbage collection stop a process group recorded by
// WithStarted. A member that has exited but not been reaped by its parent
// still counts as present, so such a group always waits the full grace.
func KillGroup(pgid int, grace time.Duration) (killed bool, err error) {
	if pgid <= 1 || pgid == syscall.Getpgrp() {
		return false, fmt.Errorf("kill process group %d: refusing to signal it", pgid)
	}
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return false, nil
		}
		return false, fmt.Errorf("kill process group %d: SIGTERM: %w", pgid, err)
	}
	deadline := time.Now().Add(grace)
	for poll := 5 * time.Millisecond; time.Now().Before(deadline); poll = min(2*poll, 100*time.Millisecond) {
		if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
			return false, nil
		}
		wait := min(poll, time.Until(deadline))
		if wait > 0 {
			t := time.NewTimer(wait)
			<-t.C
		}
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return false, nil
		}
		return false, fmt.Errorf("kill process group %d: SIGKILL: %w", pgid, err)
	}
	return true, nil
}
