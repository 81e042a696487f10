package resultstore

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/redeploy-drill/drill/results"
)

// Schema validation helpers live in this test file because the results
// package itself stays standard-library only. Other packages' tests load
// the same files by path (results/schema/*.schema.json) the same way. The
// schemas are checked here, beside the store, because what they must accept
// is what the store writes.

// resultsDir is the results package's folder: the schemas and types.go.
const resultsDir = "../../results"

// loadSchemaDoc reads a schema from the repository (not from the embedded
// copy, which TestEmbeddedSchemasMatchFiles compares with it).
func loadSchemaDoc(t *testing.T, file string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(resultsDir, "schema", file))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(data, &doc))
	return doc
}

// compileSchema compiles a schema with format assertions on (date-time is
// checked). strict closes every object that lists properties, to prove that
// drill writes no field the schema does not document; the published schema
// stays open because adding a field keeps drill/v1.
func compileSchema(t *testing.T, file string, strict bool) *jsonschema.Schema {
	t.Helper()
	doc := loadSchemaDoc(t, file)
	if strict {
		closeObjects(doc)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	url := doc["$id"].(string)
	require.NoError(t, c.AddResource(url, doc))
	sch, err := c.Compile(url)
	require.NoError(t, err)
	return sch
}

func closeObjects(v any) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["properties"]; ok {
			v["additionalProperties"] = false
		}
		for _, child := range v {
			closeObjects(child)
		}
	case []any:
		for _, child := range v {
			closeObjects(child)
		}
	}
}

func validateJSON(sch *jsonschema.Schema, data []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

const (
	runSchema   = "drillrun.schema.json"
	indexSchema = "drillindex.schema.json"
)

func TestEmbeddedSchemasMatchFiles(t *testing.T) {
	for _, name := range []string{RunSchemaFile, IndexSchemaFile} {
		embedded, err := Schemas.ReadFile(name)
		require.NoError(t, err, name)
		onDisk, err := os.ReadFile(filepath.Join(resultsDir, name))
		require.NoError(t, err, name)
		assert.Equal(t, string(onDisk), string(embedded), name)
	}
}

func TestRunSchemaAcceptsWrittenDocuments(t *testing.T) {
	minimal := &Run{RunID: testRunID(testStart, 1), Scenario: ScenarioRef{Name: "local-web"}, Trigger: "manual", Status: StatusRunning, StartedAt: testStart}
	tests := []struct {
		name string
		run  *Run
	}{
		{"fully populated failed run", fullRun("local-web", testStart, 1, 2, 20)},
		{"running run just started", minimal},
		{"finished run without cycles", simpleRun("local-web", testStart, 2, StatusCanceled, false)},
	}
	lax, strict := compileSchema(t, runSchema, false), compileSchema(t, runSchema, true)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Open(t.TempDir())
			require.NoError(t, s.WriteRun(tt.run))
			data, err := os.ReadFile(s.RunPath(tt.run.Scenario.Name, tt.run.RunID))
			require.NoError(t, err)
			assert.NoError(t, validateJSON(lax, data))
			assert.NoError(t, validateJSON(strict, data), "drill writes only documented fields")
		})
	}
}

func TestIndexSchemaAcceptsWrittenIndex(t *testing.T) {
	lax, strict := compileSchema(t, indexSchema, false), compileSchema(t, indexSchema, true)
	s := Open(t.TempDir())

	_, _, err := s.RebuildIndex()
	require.NoError(t, err)
	data, err := os.ReadFile(s.IndexPath())
	require.NoError(t, err)
	assert.NoError(t, validateJSON(strict, data), "empty index")

	full := fullRun("local-web", testStart, 1, 2, 5)
	full.Status, full.Guideline.Holds = StatusPassed, true
	require.NoError(t, s.FinishRun(full))
	require.NoError(t, s.FinishRun(simpleRun("local-web", testStart.Add(time.Hour), 2, StatusFailed, false)))
	require.NoError(t, s.FinishRun(simpleRun("kind-demo", testStart, 3, StatusTimedOut, false)))
	data, err = os.ReadFile(s.IndexPath())
	require.NoError(t, err)
	assert.Contains(t, string(data), `"lastSuccess"`)
	assert.NoError(t, validateJSON(lax, data))
	assert.NoError(t, validateJSON(strict, data), "drill writes only documented fields")
}

// validRunMap is a fully populated run document as a generic map, for
// mutation.
func validRunMap(t *testing.T) map[string]any {
	t.Helper()
	data, err := encodeRun(fullRun("local-web", testStart, 1, 2, 4))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

func firstStep(m map[string]any) map[string]any {
	return m["cycles"].([]any)[0].(map[string]any)["steps"].([]any)[0].(map[string]any)
}

func TestRunSchemaRejectsInvalidDocuments(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"unknown run status", func(m map[string]any) { m["status"] = "succeeded" }},
		{"unknown step status", func(m map[string]any) { firstStep(m)["status"] = "ok" }},
		{"unknown cycle status", func(m map[string]any) { m["cycles"].([]any)[0].(map[string]any)["status"] = "done" }},
		{"unknown error reason", func(m map[string]any) { m["error"].(map[string]any)["reason"] = "Oops" }},
		{"unknown step phase", func(m map[string]any) { firstStep(m)["phase"] = "build" }},
		{"unknown trigger", func(m map[string]any) { m["trigger"] = "nightly" }},
		{"missing runId", func(m map[string]any) { delete(m, "runId") }},
		{"missing cycles", func(m map[string]any) { delete(m, "cycles") }},
		{"null cycles", func(m map[string]any) { m["cycles"] = nil }},
		{"missing step attempts", func(m map[string]any) { delete(firstStep(m), "attempts") }},
		{"missing error message", func(m map[string]any) { delete(m["error"].(map[string]any), "message") }},
		{"missing guideline checks", func(m map[string]any) { delete(m["guideline"].(map[string]any), "checks") }},
		{"other apiVersion", func(m map[string]any) { m["apiVersion"] = "drill/v2" }},
		{"other kind", func(m map[string]any) { m["kind"] = "DrillIndex" }},
		{"malformed runId", func(m map[string]any) { m["runId"] = "run-1" }},
		{"scenario name not a DNS label", func(m map[string]any) { m["scenario"].(map[string]any)["name"] = "Local_Web" }},
		{"time not in UTC", func(m map[string]any) { m["startedAt"] = "2026-11-27T08:15:00+01:00" }},
		{"time not a date", func(m map[string]any) { m["startedAt"] = "yesterday" }},
		{"fractional duration", func(m map[string]any) { m["durationMs"] = 1.5 }},
		{"negative duration", func(m map[string]any) { firstStep(m)["durationMs"] = -1 }},
		{"duration as string", func(m map[string]any) { m["durationMs"] = "48s" }},
		{"tool version not a string", func(m map[string]any) { m["tools"].(map[string]any)["drill"] = 1 }},
	}
	sch := compileSchema(t, runSchema, false)
	valid, err := json.Marshal(validRunMap(t))
	require.NoError(t, err)
	require.NoError(t, validateJSON(sch, valid), "the unmutated document is valid")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validRunMap(t)
			tt.mutate(m)
			data, err := json.Marshal(m)
			require.NoError(t, err)
			assert.Error(t, validateJSON(sch, data))
		})
	}
}

func TestRunSchemaAcceptsAddedFields(t *testing.T) {
	m := validRunMap(t)
	m["costUsd"] = 0.42
	firstStep(m)["exitCode"] = 1
	m["host"].(map[string]any)["cpus"] = 2
	data, err := json.Marshal(m)
	require.NoError(t, err)
	assert.NoError(t, validateJSON(compileSchema(t, runSchema, false), data), "adding a field keeps drill/v1")
	assert.Error(t, validateJSON(compileSchema(t, runSchema, true), data), "the strict variant notices")
}

func TestIndexSchemaRejectsInvalidDocuments(t *testing.T) {
	valid := func() map[string]any {
		return map[string]any{
			"apiVersion": "drill/v1", "kind": "DrillIndex", "updatedAt": "2026-11-27T07:15:00Z",
			"scenarios": []any{map[string]any{
				"name": "local-web", "latestRunId": "20261127T071500Z-3f9a1c", "status": "passed", "holds": true,
				"startedAt": "2026-11-27T07:15:00Z", "durationMs": 48210, "run": "local-web/20261127T071500Z-3f9a1c.json",
			}},
		}
	}
	entry := func(m map[string]any) map[string]any { return m["scenarios"].([]any)[0].(map[string]any) }
	tests := []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"unknown status", func(m map[string]any) { entry(m)["status"] = "green" }},
		{"missing run path", func(m map[string]any) { delete(entry(m), "run") }},
		{"missing scenarios", func(m map[string]any) { delete(m, "scenarios") }},
		{"lastSuccess not a time", func(m map[string]any) { entry(m)["lastSuccess"] = "never" }},
		{"wrong kind", func(m map[string]any) { m["kind"] = "DrillRun" }},
	}
	sch := compileSchema(t, indexSchema, false)
	data, err := json.Marshal(valid())
	require.NoError(t, err)
	require.NoError(t, validateJSON(sch, data), "the unmutated index is valid")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			tt.mutate(m)
			data, err := json.Marshal(m)
			require.NoError(t, err)
			assert.Error(t, validateJSON(sch, data))
		})
	}
}

// TestSchemasMatchTypes keeps the schemas and types.go in step: every Go
// field is a schema property and vice versa, and a field is required
// exactly when it is not omitempty.
func TestSchemasMatchTypes(t *testing.T) {
	run, index := loadSchemaDoc(t, runSchema), loadSchemaDoc(t, indexSchema)
	def := func(doc map[string]any, path ...string) map[string]any {
		node := doc
		for _, p := range path {
			node = node[p].(map[string]any)
		}
		return node
	}
	tests := []struct {
		typ    any
		schema map[string]any
	}{
		{Run{}, run},
		{ScenarioRef{}, def(run, "properties", "scenario")},
		{Source{}, def(run, "properties", "source")},
		{Host{}, def(run, "properties", "host")},
		{Cycle{}, def(run, "$defs", "cycle")},
		{Phases{}, def(run, "$defs", "cycle", "properties", "phases")},
		{Step{}, def(run, "$defs", "step")},
		{Error{}, def(run, "$defs", "error")},
		{Guideline{}, def(run, "$defs", "guideline")},
		{Check{}, def(run, "$defs", "guideline", "properties", "checks", "items")},
		{Index{}, index},
		{IndexEntry{}, def(index, "$defs", "entry")},
	}
	for _, tt := range tests {
		typ := reflect.TypeOf(tt.typ)
		t.Run(typ.Name(), func(t *testing.T) {
			var fields, required []string
			for f := range typ.Fields() {
				name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				fields = append(fields, name)
				if !strings.Contains(opts, "omitempty") {
					required = append(required, name)
				}
			}
			var props []string
			for name := range tt.schema["properties"].(map[string]any) {
				props = append(props, name)
			}
			var schemaRequired []string
			for _, name := range tt.schema["required"].([]any) {
				schemaRequired = append(schemaRequired, name.(string))
			}
			slices.Sort(fields)
			slices.Sort(props)
			slices.Sort(required)
			slices.Sort(schemaRequired)
			assert.Equal(t, fields, props, "properties")
			assert.Equal(t, required, schemaRequired, "required")
			assert.Equal(t, true, tt.schema["additionalProperties"], "open to added fields")
		})
	}

	// The closed sets are read from types.go itself, so a status or reason
	// added there without the schema fails here.
	statuses, reasons := typedConstants(t, "Status"), typedConstants(t, "Reason")
	require.Len(t, statuses, 6)
	require.GreaterOrEqual(t, len(reasons), 12)
	assert.ElementsMatch(t, statuses, def(run, "$defs", "status")["enum"])
	assert.ElementsMatch(t, statuses, def(index, "$defs", "entry", "properties", "status")["enum"])
	assert.ElementsMatch(t, reasons, def(run, "$defs", "error", "properties", "reason")["enum"])
	assert.ElementsMatch(t, []any{PhaseProvision, PhaseDeploy, PhaseVerify, PhaseTeardown, PhaseDestroy}, def(run, "$defs", "step", "properties", "phase")["enum"])
}

// typedConstants returns the values of the string constants of type typ
// declared in types.go.
func typedConstants(t *testing.T, typ string) []any {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(resultsDir, "types.go"), nil, 0)
	require.NoError(t, err)
	var values []any
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typ {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				require.True(t, ok, "constant of type %s is a string literal", typ)
				s, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				values = append(values, s)
			}
		}
	}
	return values
}
