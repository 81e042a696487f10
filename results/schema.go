package results

import "embed"

// Schemas holds the JSON Schemas (draft 2020-12) of the documents drill
// writes, so drill serve can publish them and tools can validate against the
// exact version they were built with. Tests of other packages load the same
// files by path from results/schema/.
//
//go:embed schema/*.json
var Schemas embed.FS

// Paths of the schemas inside Schemas (and inside the repository, under
// results/).
const (
	RunSchemaFile   = "schema/drillrun.schema.json"
	IndexSchemaFile = "schema/drillindex.schema.json"
)
