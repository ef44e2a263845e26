package schema

import (
	_ "embed"
)

// SchemaCUE is the CUE schema of a config repo (schema/cue/edge.cue), embedded so the
// binary needs nothing else; the same file works with the cue CLI:
//
//	cue vet -c schema/cue/edge.cue edge.cue sites/*.cue
//
//go:embed cue/edge.cue
var SchemaCUE []byte

// schemaFilename names the embedded schema in CUE positions, distinct from any repo file.
const schemaFilename = "<edge schema>"
