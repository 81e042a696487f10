// Command drill runs redeploy drills: it checks, on a schedule and on
// demand, that a stack can be rebuilt from scratch by following its scripts.
package main

import (
	"context"
	"os"

	"github.com/redeploy-drill/drill/internal/cli"
)

func main() {
	// Signals are handled inside cli.Run (drill run needs three stages:
	// cancel, remind, exit), so main stays a stub.
	os.Exit(cli.Run(context.Background(), os.Args[1:], cli.Stdio()))
}
