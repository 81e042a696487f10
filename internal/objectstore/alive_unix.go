//go:build unix

package objectstore

import "syscall"

// processAlive tells whether pid is a process of this machine.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
