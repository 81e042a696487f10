//go:build !linux

package reaper

// Child subreapers are Linux's; elsewhere (macOS, where SREs run drills by
// hand) drill is never a container's PID 1 and runs as it is.
const supported = false

// Run is never called where Wanted is false.
func Run(args []string) int { panic("reaper: not supported on this system") }
