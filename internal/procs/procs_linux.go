//go:build linux

package procs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// WithEnv lists the processes whose environment holds key=value, except the
// calling process. It reads /proc/PID/environ, which holds the environment
// a process was started with and is readable for the same user or root.
// Processes that vanish or cannot be read while scanning are passed over.
func WithEnv(key, value string) ([]Process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, nil // no /proc mounted: nothing can be found
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
		started, _ := StartTime(pid)
		out = append(out, Process{Pid: pid, Comm: strings.TrimSpace(string(comm)), Started: started})
	}
	return out, nil
}

// zombie reports whether pid has exited and only waits for its parent (or
// is gone altogether).
func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses, which may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z'
}

// StartTime returns when pid started, from /proc/PID/stat and the boot time
// in /proc/stat, or false.
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
