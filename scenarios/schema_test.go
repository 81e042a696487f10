package scenarios

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const schemaFile = "schema/scenario.schema.json"

func compileScenarioSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource(schemaFile, doc))
	sch, err := c.Compile(schemaFile)
	require.NoError(t, err)
	return sch
}

// asJSON reads a scenario file as the JSON value an editor's YAML language
// server checks against the schema (anchors and merge keys resolved).
func asJSON(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var v any
	require.NoError(t, yaml.Unmarshal(data, &v), path)
	j, err := json.Marshal(v)
	require.NoError(t, err, path)
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	require.NoError(t, err)
	return out
}

func TestEmbeddedSchemaIsTheFile(t *testing.T) {
	data, err := os.ReadFile(schemaFile)
	require.NoError(t, err)
	assert.Equal(t, string(data), string(Schema))
}

// Every shipped scenario and every valid fixture passes the schema, and
// every shipped scenario tells yaml-language-server where it is.
func TestSchemaAcceptsEveryValidScenario(t *testing.T) {
	sch := compileScenarioSchema(t)
	shipped, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, shipped)
	valid, err := filepath.Glob("testdata/valid-*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, valid)
	for _, path := range append(shipped, valid...) {
		t.Run(path, func(t *testing.T) {
			_, err := Load(path)
			require.NoError(t, err, "drill itself accepts it")
			assert.NoError(t, sch.Validate(asJSON(t, path)))
		})
	}
	for _, path := range shipped {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Contains(t, string(data), "\n# yaml-language-server: $schema=schema/scenario.schema.json\n", path)
	}
}

// What a schema can see, it refuses: unknown fields, wrong types, two
// targets, no target, an unknown phase, a wrong apiVersion.
func TestSchemaRefusesWhatItCanSee(t *testing.T) {
	sch := compileScenarioSchema(t)
	for _, name := range []string{
		"invalid-unknown-field", "invalid-wrong-type", "invalid-two-targets", "invalid-empty-target",
		"invalid-no-target", "invalid-phase", "invalid-apiversion", "invalid-missing-apiversion",
		"invalid-negative-retries", "invalid-cycles-zero", "invalid-bad-duration", "invalid-bad-name",
		"invalid-manual-type", "invalid-missing-steps", "invalid-wait-for", "invalid-secret-source",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name+".yaml")
			_, err := Load(path)
			require.Error(t, err, "drill itself refuses it")
			assert.Error(t, sch.Validate(asJSON(t, path)))
		})
	}
}

// The schema's properties are exactly the yaml fields of the Go types, so
// that neither can gain a field the other lacks.
func TestSchemaPropertiesMatchTheTypes(t *testing.T) {
	var doc map[string]any
	require.NoError(t, json.Unmarshal(Schema, &doc))
	defs := doc["$defs"].(map[string]any)
	props := func(node map[string]any) map[string]any {
		if ref, ok := node["$ref"].(string); ok {
			node = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
		p, _ := node["properties"].(map[string]any)
		return p
	}
	var check func(path string, typ reflect.Type, node map[string]any)
	check = func(path string, typ reflect.Type, node map[string]any) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
			if items, ok := node["items"].(map[string]any); ok {
				node = items
			}
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeFor[Source]() {
			return
		}
		p := props(node)
		var fields []string
		for f := range typ.Fields() {
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			fields = append(fields, tag)
			child, ok := p[tag].(map[string]any)
			if assert.True(t, ok, "%s.%s is in the schema", path, tag) {
				check(path+"."+tag, f.Type, child)
			}
		}
		var inSchema []string
		for k := range p {
			inSchema = append(inSchema, k)
		}
		assert.ElementsMatch(t, fields, inSchema, "the properties of %s", path)
	}
	check("scenario", reflect.TypeFor[Scenario](), doc)
	source := props(doc)["spec"].(map[string]any)["properties"].(map[string]any)["source"].(map[string]any)
	gitProps := source["oneOf"].([]any)[1].(map[string]any)["properties"].(map[string]any)
	var gitFields []string
	for f := range reflect.TypeFor[GitSource]().Fields() {
		gitFields = append(gitFields, f.Tag.Get("yaml"))
	}
	assert.ElementsMatch(t, gitFields, slices.Collect(func(yield func(string) bool) {
		for k := range gitProps {
			if !yield(k) {
				return
			}
		}
	}))
}
