// Command drill runs redeploy drills: it checks, on a schedule and on
// demand, that a stack can be rebuilt from scratch by following its scripts.
package main

import (
	"os"

	"github.com/redeploy-drill/drill/internal/cli"
)

// main is a stub: cli.Main decides what this process is (drill, its
// container init, terraform's relay) and runs it.
func main() { os.Exit(cli.Main()) }
