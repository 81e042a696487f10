// Package procs finds and stops the processes of a drill run. Every step
// process gets DRILL_RUN_ID=<run id> in its environment and passes it on to
// what it starts, detached daemons included, so finding the processes whose
// environment holds that variable finds what a run left running even after
// drill itself was killed and process groups were left behind.
//
// How a process's environment is read depends on the system: /proc on Linux
// (procs_linux.go), sysctl kern.procargs2 on macOS (procs_darwin.go). On
// other systems nothing is found (procs_other.go).
package procs

import (
	"fmt"
	"syscall"
	"time"
)

// Process is one process found by WithEnv.
type Process struct {
	Pid  int
	Comm string // the command name, for messages
	// Started is when the process started, zero when unknown. A pid whose
	// start time no longer matches has been recycled: the process found is
	// gone and another one holds its pid.
	Started time.Time
}

func (p Process) String() string { return fmt.Sprintf("%s (pid %d)", p.Comm, p.Pid) }

// running reports whether p is still the process that was found: its pid is
// alive, not a zombie, and (when its start time was known) started at the
// same time. A pid now held by another process counts as exited.
func (p Process) running() bool {
	if !Alive(p.Pid) {
		return false
	}
	if p.Started.IsZero() {
		return true
	}
	started, ok := StartTime(p.Pid)
	return ok && started.Equal(p.Started)
}

// Alive reports whether pid is a running (not zombie) process.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && err != syscall.EPERM {
		return false
	}
	return !zombie(pid)
}

// Settle waits until each process of ps has exited or grace has passed, and
// returns those still running. It sends nothing: it gives processes that
// something else is stopping (a teardown step that sent SIGTERM and
// returned) the time to finish. A pid that now belongs to a different
// process counts as exited. It polls with a short interval that grows, so a
// process that exits at once costs milliseconds, not a fixed sleep.
func Settle(ps []Process, grace time.Duration) []Process {
	deadline := time.Now().Add(grace)
	interval := 5 * time.Millisecond
	for {
		ps = stillRunning(ps)
		left := time.Until(deadline)
		if len(ps) == 0 || left <= 0 {
			return ps
		}
		time.Sleep(min(interval, left))
		interval = min(2*interval, 200*time.Millisecond)
	}
}

// Stop sends SIGTERM to each process, waits up to grace for them to exit,
// then SIGKILLs the rest. It returns those still alive after that (normally
// none). A pid that now belongs to a different process is left alone.
func Stop(ps []Process, grace time.Duration) []Process {
	ps = stillRunning(ps)
	for _, p := range ps {
		_ = syscall.Kill(p.Pid, syscall.SIGTERM)
	}
	ps = Settle(ps, grace)
	for _, p := range ps {
		_ = syscall.Kill(p.Pid, syscall.SIGKILL)
	}
	return Settle(ps, 5*time.Second)
}

// stillRunning returns the processes of ps that are still running, in order.
func stillRunning(ps []Process) []Process {
	var out []Process
	for _, p := range ps {
		if p.running() {
			out = append(out, p)
		}
	}
	return out
}

// stopRounds bounds how often StopAllWithEnv scans again.
const stopRounds = 5

// StopAllWithEnv stops every process whose environment carries key=value,
// scanning again after each round: a process being stopped may have forked
// a child meanwhile (a restart loop, a worker), which carries the same
// variable and would otherwise survive. It returns every process it
// stopped and those still running after its last round (normally none).
func StopAllWithEnv(key, value string, grace time.Duration) (stopped, left []Process, err error) {
	for round := 0; round < stopRounds; round++ {
		ps, err := WithEnv(key, value)
		if err != nil {
			return stopped, ps, err
		}
		if len(ps) == 0 {
			return stopped, nil, nil
		}
		stopped = append(stopped, ps...)
		left = Stop(ps, grace)
	}
	ps, err := WithEnv(key, value)
	return stopped, append(left, ps...), err
}
