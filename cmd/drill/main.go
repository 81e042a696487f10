// Command drill runs redeploy drills: it checks, on a schedule and on
// demand, that a stack can be rebuilt from scratch by following its scripts.
package main

import (
	"context"
	"os"

	"github.com/redeploy-drill/drill/drills/terraform"
	"github.com/redeploy-drill/drill/internal/cli"
	"github.com/redeploy-drill/drill/internal/reaper"
)

func main() {
	// drill is also its own terraform relay, so that terraform outlives a
	// killed drill and can save its state (see terraform.WithRelay).
	if real := os.Getenv(terraform.RelayEnv); real != "" {
		os.Exit(terraform.Relay(real, os.Args[1:]))
	}
	// As a container's PID 1 (or with DRILL_REAPER=1), drill runs under a
	// small init of its own that reaps the orphans steps leave.
	if reaper.Wanted() {
		os.Exit(reaper.Run(os.Args[1:]))
	}
	// Signals are handled inside cli.Run (drill run needs three stages:
	// cancel, remind, exit), so main stays a stub.
	os.Exit(cli.Run(context.Background(), os.Args[1:], cli.Stdio()))
}
