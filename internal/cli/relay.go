package cli

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/drills/terraform"
	"github.com/redeploy-drill/drill/internal/reaper"
)

// relayCommand is the hidden `drill terraform-relay TERRAFORM [ARGS...]`:
// it runs TERRAFORM with ARGS behind drill's relay, so that terraform
// outlives a killed drill and can save its state (terraform.WithRelay).
// terraform-exec starts its binary with terraform's own arguments and
// cannot prefix a subcommand, so drill hands it its own path with
// terraform.RelayEnv naming the real terraform, and Main turns such an
// invocation into this command.
const relayCommand = "terraform-relay"

// Main is the whole of drill's main: the process's arguments and streams,
// and the exit code. It decides what this process is before any command
// runs: the init of a container (the reaper, which starts the real drill
// below it), terraform's relay, or drill itself.
func Main() int {
	args := os.Args[1:]
	if real := os.Getenv(terraform.RelayEnv); real != "" {
		// First: a relay is never an init, whatever its environment says.
		args = append([]string{relayCommand, real}, args...)
	} else if reaper.Wanted() {
		// As a container's PID 1 (or with DRILL_REAPER=1), drill runs
		// under a small init of its own that reaps the orphans steps
		// leave.
		return reaper.Run(args)
	}
	// Signals are handled inside Run (drill run needs three stages:
	// cancel, remind, exit), so main stays a stub.
	return Run(context.Background(), args, Stdio())
}

func newRelayCommand() *cobra.Command {
	return &cobra.Command{
		Use:    relayCommand + " TERRAFORM [ARGS...]",
		Short:  "Run terraform behind drill's relay (used by the terraform target)",
		Hidden: true,
		// terraform's own flags are terraform's: none is drill's.
		DisableFlagParsing: true,
		Args:               usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(_ *cobra.Command, args []string) error {
			if code := terraform.Relay(args[0], args[1:]); code != 0 {
				return &ExitError{Code: code}
			}
			return nil
		},
	}
}
