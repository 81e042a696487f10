package scenarios

import _ "embed"

// Schema is the JSON Schema (draft 2020-12) of the scenario format, for
// editors and linters: `drill schema scenario` prints it, and the shipped
// scenarios point yaml-language-server at the file
// (scenarios/schema/scenario.schema.json). drill's own loader does not use
// it: it checks more than a schema can and says so with lines and fields.
//
//go:embed schema/scenario.schema.json
var Schema []byte
