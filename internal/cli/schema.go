package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/scenarios"
)

// schemas are the JSON Schemas `drill schema` prints, by name.
var schemas = map[string]func() ([]byte, error){
	"scenario": func() ([]byte, error) { return scenarios.Schema, nil },
	"run":      func() ([]byte, error) { return results.Schemas.ReadFile(results.RunSchemaFile) },
	"index":    func() ([]byte, error) { return results.Schemas.ReadFile(results.IndexSchemaFile) },
}

func newSchemaCommand(a *app) *cobra.Command {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range schemas {
			if !yield(k) {
				return
			}
		}
	})
	return &cobra.Command{
		Use:   "schema " + strings.Join(names, "|"),
		Short: "Print a JSON Schema: of the scenario format (for editors: yaml-language-server), of a DrillRun or of the index",
		Long: `Print the JSON Schema (draft 2020-12) of the scenario format, of a DrillRun document or of index.json.

An editor completes and checks scenario fields with the scenario schema: save it next to the
scenarios and start each file with
  # yaml-language-server: $schema=scenario.schema.json
drill validate checks more than the schema can (paths, variables, bounds).`,
		Args:      usageArgs(cobra.ExactArgs(1)),
		ValidArgs: names,
		RunE: func(_ *cobra.Command, args []string) error {
			read, ok := schemas[args[0]]
			if !ok {
				return exitf(ExitUsage, "schema: unknown schema %q: want %s", args[0], strings.Join(names, ", "))
			}
			data, err := read()
			if err != nil {
				return fmt.Errorf("schema %s: %w", args[0], err)
			}
			_, err = a.streams.Out.Write(data)
			return err
		},
	}
}
