//go:build !linux && !darwin

package procs

import "time"

// WithEnv finds nothing on this system: drill knows how to read another
// process's environment only on Linux (/proc) and macOS (sysctl). Processes
// a run leaves behind are then neither reported nor stopped by drill.
func WithEnv(key, value string) ([]Process, error) { return nil, nil }

// zombie cannot tell a zombie here; kill(pid, 0) alone decides Alive.
func zombie(pid int) bool { return false }

// StartTime is unknown on this system.
func StartTime(pid int) (time.Time, bool) { return time.Time{}, false }
