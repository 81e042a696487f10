//go:build linux

package terraform

import "syscall"

// detach clears the parent-death signal (SIGKILL) that terraform-exec sets
// on Linux (tfexec/cmd_linux.go), so the relay, and terraform behind it,
// outlive a killed drill. terraform-exec also puts the relay in a process
// group of its own there, so a Ctrl-C in drill's terminal reaches drill
// alone and terraform gets a single interrupt: the one drill's cancel sends.
func detach() {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, 0, 0)
}
