// Package reaper lets drill be PID 1 of a container (or run where nothing
// reaps orphans) without leaving a zombie per cycle.
//
// A step that starts a daemon and exits leaves an orphan; when drill's
// sweep stops it (or it exits on its own), the kernel hands its exit status
// to the nearest ancestor that is a child subreaper, else to PID 1. A PID 1
// that never calls wait keeps every such orphan as a zombie, one or more
// per cycle, until the pod's process table fills. drill cannot simply call
// wait(-1) itself: it would take the exit status of the commands its own
// libraries started (terraform-exec, kind, the docker CLI) from under them.
//
// So drill splits in two, as tini does: a small init (this package) that
// is the child subreaper, starts the real drill as its only child, passes
// every signal on to it, reaps every orphan that reaches it, and exits with
// the child's status. Everything the child starts that is orphaned lands
// on the init and is reaped; the child's own children are still waited for
// by the child alone.
package reaper

import "os"

// Env asks for the init split when drill is not PID 1 ("1"); the init sets
// it to "child" in the environment of the real drill, which unsets it, so
// that nothing drill starts inherits it.
const Env = "DRILL_REAPER"

// Wanted reports whether this process should become the init: it is PID 1
// (a container's entrypoint), or DRILL_REAPER=1 asks for it (a PID 1 that
// does not reap, a CI runner that wants no stray zombie). It is false in
// the real drill the init started, whose environment it then cleans.
func Wanted() bool {
	switch os.Getenv(Env) {
	case "child":
		_ = os.Unsetenv(Env)
		return false
	case "1":
		return supported
	}
	return supported && os.Getpid() == 1
}
