// Package procs finds and stops the processes of a drill run. Every step
// process gets DRILL_RUN_ID=<run id> in its environment and passes it on to
// what it starts, detached daemons included, so scanning /proc for that
// variable finds what a run left running even after drill itself was killed
// and process groups were left behind. Linux only: elsewhere it finds nothing.
package procs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is one process found by WithEnv.
type Process struct {
	Pid  int
	Comm string // the command name, for messages
}

func (p Process) String() string { return fmt.Sprintf("%s (pid %d)", p.Comm, p.Pid) }

// WithEnv lists the processes whose environment holds key=value, except the
// calling process. Processes that vanish or cannot be read while scanning
// are passed over.
func WithEnv(key, value string) ([]Process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, nil // no /proc: not Linux
	}
	needle := []byte(key + "=" + value)
	self := os.Getpid()
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		found := false
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, needle) {
				found = true
				break
			}
		}
		if !found || zombie(pid) {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		out = append(out, Process{Pid: pid, Comm: strings.TrimSpace(string(comm))})
	}
	return out, nil
}

// zombie reports whether pid has exited and only waits for its parent.
func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses, which may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z'
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

// Stop sends SIGTERM to each process, waits up to grace for them to exit,
// then SIGKILLs the rest. It returns those still alive after that (normally
// none).
func Stop(ps []Process, grace time.Duration) []Process {
	for _, p := range ps {
		_ = syscall.Kill(p.Pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && anyAlive(ps) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range ps {
		if Alive(p.Pid) {
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
		}
	}
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && anyAlive(ps) {
		time.Sleep(20 * time.Millisecond)
	}
	var left []Process
	for _, p := range ps {
		if Alive(p.Pid) {
			left = append(left, p)
		}
	}
	return left
}

func anyAlive(ps []Process) bool {
	for _, p := range ps {
		if Alive(p.Pid) {
			return true
		}
	}
	return false
}

// StartTime returns when pid started, from /proc (Linux), or false.
func StartTime(pid int) (time.Time, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return time.Time{}, false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return time.Time{}, false
	}
	// Fields after the command name start with the state (field 3);
	// starttime is field 22, in clock ticks since boot.
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseInt(fields[19], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	boot, ok := bootTime()
	if !ok {
		return time.Time{}, false
	}
	const clockTicks = 100 // USER_HZ, 100 on every Linux architecture Go supports
	return boot.Add(time.Duration(ticks) * time.Second / clockTicks), true
}

func bootTime() (time.Time, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, false
			}
			return time.Unix(sec, 0), true
		}
	}
	return time.Time{}, false
}
