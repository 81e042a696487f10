//go:build !linux

package terraform

import "syscall"

// detach moves the relay into a process group of its own, which terraform
// then inherits. terraform-exec sets neither a parent-death signal nor a
// process group outside Linux (tfexec/cmd_default.go), so there is no
// parent-death signal to clear; what keeps terraform alive when drill is
// killed is the rest of the relay (it keeps draining output and drops
// SIGTERM). The process group is what Linux gets from terraform-exec: in
// drill's group, a Ctrl-C in drill's terminal would reach terraform
// directly, and again through the relay and drill's cancel, and a second
// interrupt makes terraform exit without saving its state.
func detach() {
	_ = syscall.Setpgid(0, 0)
}
