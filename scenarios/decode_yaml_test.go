package scenarios

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestYAMLv3StrictCannotKeepTheMessages records, with yaml.v3's own output,
// why decode.go walks the node tree instead of calling yaml.v3's Decode with
// KnownFields(true). Strict decoding does collect unknown fields and type
// mismatches, but it names them by line only (no column, no field path, Go
// type names, no "did you mean"), stops at the first value it cannot
// convert (a duration), and reports aliases and merge cycles without a
// position; the contract's messages (and every invalid fixture) need all of
// that. Should this test fail, yaml.v3 has learnt what the walker does, and
// the walker can go.
func TestYAMLv3StrictCannotKeepTheMessages(t *testing.T) {
	strict := func(t *testing.T, name string) (drill *LoadError, lib error) {
		t.Helper()
		path := filepath.Join("testdata", name)
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		_, err = Parse(path, data)
		require.ErrorAs(t, err, &drill)
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		var s Scenario
		lib = dec.Decode(&s)
		require.Error(t, lib, "yaml.v3 accepts %s", name)
		return drill, lib
	}

	t.Run("line only, Go types, no hint", func(t *testing.T) {
		drill, lib := strict(t, "invalid-unknown-field.yaml")
		assert.Equal(t, "yaml: unmarshal errors:\n  line 9: field rnu not found in type scenarios.Step", lib.Error())
		assert.Contains(t, drill.Error(), `invalid-unknown-field.yaml:9:7: spec.steps[0].rnu: unknown field "rnu" (did you mean "run"?)`)

		drill, lib = strict(t, "invalid-wrong-type.yaml")
		assert.Equal(t, "yaml: unmarshal errors:\n  line 7: cannot unmarshal !!str `two` into int", lib.Error())
		assert.Contains(t, drill.Error(), `invalid-wrong-type.yaml:7:11: spec.cycles: expected an integer, got the string "two"`)
	})

	t.Run("stops at the first value it cannot convert", func(t *testing.T) {
		for _, name := range []string{"invalid-many-problems.yaml", "invalid-compose.yaml"} {
			drill, lib := strict(t, name)
			var te *yaml.TypeError
			assert.False(t, errors.As(lib, &te), "%s: one error, not a list: %v", name, lib)
			assert.Greater(t, len(drill.Problems), 5, name)
		}
	})

	t.Run("no position for a merge cycle or an alias bomb", func(t *testing.T) {
		drill, lib := strict(t, "invalid-merge-cycle.yaml")
		assert.Equal(t, "yaml: anchor 'self' value contains itself", lib.Error())
		assert.Contains(t, drill.Error(), "invalid-merge-cycle.yaml:5:11: metadata.labels: a merge key (<<) refers to the mapping that holds it")

		drill, lib = strict(t, "invalid-alias-bomb.yaml")
		assert.Equal(t, "yaml: document contains excessive aliasing", lib.Error())
		assert.Contains(t, drill.Error(), "invalid-alias-bomb.yaml:17:49: spec.steps[1].http.headers: more than 100000 YAML nodes")
	})
}
