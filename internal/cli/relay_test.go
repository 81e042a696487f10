package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/redeploy-drill/drill/internal/testtools"
	"github.com/redeploy-drill/drill/results"
	"github.com/redeploy-drill/drill/scenarios"
)

// The relay is a command of its own, hidden from help: it runs the program
// it is given with the rest of the arguments, terraform's flags included,
// and exits with its code.
func TestTerraformRelayIsAHiddenCommand(t *testing.T) {
	bash := testtools.Need(t, "bash", "the relay runs bash as its terraform here")
	assert.Equal(t, 7, drill(t, relayCommand, bash, "-c", "exit 7").code)
	assert.Equal(t, 0, drill(t, relayCommand, bash, "-c", `[ "$1" = -no-color ]`, "bash", "-no-color").code,
		"terraform's flags are not drill's")
	assert.Equal(t, ExitUsage, drill(t, relayCommand).code, "it needs the program to run")
	assert.NotContains(t, drill(t, "--help").stdout, relayCommand)
}

func TestSchemaPrintsEachSchema(t *testing.T) {
	assert.Equal(t, string(scenarios.Schema), drill(t, "schema", "scenario").stdout)
	run, err := results.Schemas.ReadFile(results.RunSchemaFile)
	assert.NoError(t, err)
	assert.Equal(t, string(run), drill(t, "schema", "run").stdout)
	r := drill(t, "schema", "nope")
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, `unknown schema "nope": want index, run, scenario`)
	assert.Equal(t, ExitUsage, drill(t, "schema").code)
}
