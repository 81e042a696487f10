//go:build darwin

package procs

import (
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// szomb is SZOMB of <sys/proc.h>: a process that has exited and waits for
// its parent to collect it. golang.org/x/sys/unix does not export it.
const szomb = 5

// WithEnv lists the processes whose environment holds key=value, except the
// calling process. It lists processes with sysctl kern.proc.all and reads
// each one's environment with sysctl kern.procargs2, which macOS allows for
// processes of the same user, or for root. Processes of other users (and
// processes that vanish while scanning) are passed over: a run's processes
// are the user's own, so they are found.
func WithEnv(key, value string) ([]Process, error) {
	all, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, fmt.Errorf("list processes (sysctl kern.proc.all): %w", err)
	}
	needle := key + "=" + value
	self := os.Getpid()
	var out []Process
	for i := range all {
		p := &all[i].Proc
		pid := int(p.P_pid)
		if pid <= 0 || pid == self || p.P_stat == szomb {
			continue
		}
		buf, err := unix.SysctlRaw("kern.procargs2", pid)
		if err != nil {
			continue
		}
		args, err := parseProcargs2(buf)
		if err != nil || !slices.Contains(args.Env, needle) {
			continue
		}
		out = append(out, Process{
			Pid:     pid,
			Comm:    unix.ByteSliceToString(p.P_comm[:]),
			Started: time.Unix(p.P_starttime.Unix()),
		})
	}
	return out, nil
}

// zombie reports whether pid has exited and only waits for its parent (or
// is gone altogether).
func zombie(pid int) bool {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	return err != nil || kp.Proc.P_pid != int32(pid) || kp.Proc.P_stat == szomb
}

// StartTime returns when pid started, from sysctl kern.proc.pid, or false.
func StartTime(pid int) (time.Time, bool) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || kp.Proc.P_pid != int32(pid) {
		return time.Time{}, false
	}
	return time.Unix(kp.Proc.P_starttime.Unix()), true
}
