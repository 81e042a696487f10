package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "validate PATH...",
		Short: "Check scenarios without running anything (every problem of every file, with line and column)",
		Args:  usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := loadAll(a, args)
			for _, s := range list {
				fmt.Fprintf(a.streams.Out, "ok  %s (%s)\n", s.File, s.Metadata.Name)
			}
			return err
		},
	}
}
