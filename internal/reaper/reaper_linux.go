//go:build linux

package reaper

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const supported = true

// Run is the init: it becomes a child subreaper, starts the real drill
// (this binary, with the same arguments) as its only child, passes every
// signal it receives on to it, reaps whatever exits, and returns the
// child's exit code (128+N when a signal N ended it).
//
// The child gets a process group of its own, so a signal sent to a group
// (a terminal's Ctrl-C) reaches it once, through the init, rather than
// twice. When the terminal is drill's, the child's group becomes the
// terminal's foreground group, so that a manual step can still read its
// answer; a Ctrl-C then reaches the child directly and the init, no longer
// in the foreground, does not pass on a second one.
func Run(args []string) int {
	if os.Getpid() != 1 {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			fmt.Fprintf(os.Stderr, "drill: cannot become a child subreaper: %v\n", err)
			return 3
		}
	}
	// Signals first, so none sent while the child starts is lost.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	// SIGCHLD is what wakes the reaping; the others are the child's.
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	cmd := exec.Command(self, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), Env+"=child")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if tty, ok := foregroundTerminal(); ok {
		cmd.SysProcAttr.Foreground = true
		cmd.SysProcAttr.Ctty = tty
	}
	// Start, never Wait: the loop below reaps the child with the rest, and
	// exec's own wait would race it.
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "drill: cannot start drill under its init: %v\n", err)
		return 3
	}
	child := cmd.Process.Pid
	for {
		if code, signaled, done := reap(child); done {
			if cmd.SysProcAttr.Foreground {
				// Take the terminal back, so the shell finds it as it left it.
				signal.Ignore(syscall.SIGTTOU)
				_ = unix.IoctlSetPointerInt(cmd.SysProcAttr.Ctty, unix.TIOCSPGRP, unix.Getpgrp())
			}
			if signaled {
				drain(sigs, AfterKillGrace)
			}
			return code
		}
		sig := <-sigs
		if s, ok := sig.(syscall.Signal); ok && forwarded(s) {
			_ = syscall.Kill(child, s)
		}
	}
}

// forwarded reports whether a signal the init receives is meant for the
// real drill. Not: SIGCHLD (what wakes the reaping), SIGURG (the Go
// runtime's own preemption signal), and SIGTTIN and SIGTTOU, which the
// terminal sends the init itself when it is in the background and whose
// default action would stop the child.
func forwarded(s syscall.Signal) bool {
	switch s {
	case syscall.SIGCHLD, syscall.SIGURG, syscall.SIGTTIN, syscall.SIGTTOU:
		return false
	}
	return true
}

// AfterKillGrace is how long the init waits, after the real drill was
// killed (SIGKILL, the OOM killer), for what it left running: terraform
// runs behind a relay that outlives drill so that it can save its state,
// and a container's PID 1 that exits takes every process of the container
// with it. A drill that exits on its own has already swept its processes,
// and the init then exits at once, as tini does.
const AfterKillGrace = 2 * time.Minute

// drain reaps the init's remaining children until none is left, a signal
// asks the init to stop, or grace runs out.
func drain(sigs <-chan os.Signal, grace time.Duration) {
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	for {
		if _, _, _ = reap(-1); !hasChildren() {
			return
		}
		select {
		case <-deadline.C:
			return
		case sig := <-sigs:
			if s, ok := sig.(syscall.Signal); ok && forwarded(s) {
				return // asked to stop: nothing is left to pass it on to
			}
		}
	}
}

// hasChildren reports whether any child is left to wait for (exited or not).
func hasChildren() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return !errors.Is(err, syscall.ECHILD)
}

// reap waits for every process that has exited (the orphans handed to the
// init, and the child) without blocking. done is set once the child is
// among them, with its exit code, and signaled when a signal ended it.
func reap(child int) (code int, signaled, done bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if pid <= 0 || err != nil {
			return code, signaled, done
		}
		if pid == child {
			done = true
			switch {
			case ws.Exited():
				code = ws.ExitStatus()
			case ws.Signaled():
				code, signaled = 128+int(ws.Signal()), true
			}
		}
	}
}

// foregroundTerminal returns drill's terminal (stdin) when drill's process
// group is in its foreground, the case where the child must take it over.
func foregroundTerminal() (int, bool) {
	fd := int(os.Stdin.Fd())
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil || pgrp != unix.Getpgrp() {
		return 0, false
	}
	return fd, true
}
