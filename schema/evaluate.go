package schema

import (
	"fmt"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"
)

// evaluator evaluates files against the schema. It owns a cue.Context and is used by one
// goroutine at a time; a Load makes fresh ones so CUE's memory is released after each load.
type evaluator struct {
	ctx    *cue.Context
	schema cue.Value
	site   cue.Value // #Site
}

func newEvaluator() (*evaluator, error) {
	ctx := cuecontext.New()
	v := ctx.CompileBytes(SchemaCUE, cue.Filename(schemaFilename))
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("schema: embedded schema does not compile: %w", err)
	}
	return &evaluator{ctx: ctx, schema: v, site: v.LookupPath(cue.ParsePath("#Site"))}, nil
}

// fileKind says which top-level fields a file may declare.
type fileKind int

const (
	siteFile fileKind = iota
	repoFile
)

// parse checks that src is text of sane shape and parses it. Returned diagnostics are
// errors; on any the file is not evaluated.
func parseFile(file string, src []byte) (*ast.File, []Diagnostic) {
	if line, col, msg, ok := checkText(src); !ok {
		return nil, []Diagnostic{{File: file, Line: line, Col: col, Severity: SeverityError, Message: "the file " + msg}}
	}
	if d, ok := checkNesting(file, src); !ok {
		return nil, []Diagnostic{d}
	}
	f, err := parser.ParseFile(file, src)
	if err != nil {
		return nil, translateErrors(file, err, nil, "")
	}
	return f, nil
}

// eval evaluates a parsed file against the schema and returns the unified value.
func (e *evaluator) eval(file string, f *ast.File, idx astIndex) (cue.Value, []Diagnostic) {
	v := e.ctx.BuildFile(f, cue.Scope(e.schema))
	if err := v.Err(); err != nil {
		return cue.Value{}, translateErrors(file, err, idx, "")
	}
	u := e.schema.Unify(v)
	if err := u.Validate(cue.Concrete(true)); err != nil {
		return cue.Value{}, translateErrors(file, err, idx, "")
	}
	return u, nil
}

// evalSite evaluates a site file: parse, shape, schema, then the checks CUE cannot make.
func (e *evaluator) evalSite(name, file string, src []byte) (*siteDecl, []Diagnostic) {
	f, ds := parseFile(file, src)
	if ds != nil {
		return nil, ds
	}
	namePos, ds := checkShape(file, name, f, siteFile)
	if ds != nil {
		return nil, ds
	}
	if ds := checkSubset(file, f); ds != nil {
		return nil, ds
	}
	idx := buildIndex(f)
	v := e.ctx.BuildFile(f, cue.Scope(e.schema))
	if err := v.Err(); err != nil {
		return nil, translateErrors(file, err, idx, "")
	}
	sv := v.LookupPath(cue.MakePath(cue.Str("sites"), cue.Str(name)))
	if !sv.Exists() {
		return nil, []Diagnostic{{File: file, Severity: SeverityError,
			Message: fmt.Sprintf("declares no site; write `sites: %s: {...}` (the file's name)", CUELabel(name))}}
	}
	// Unifying only the site with #Site (not the file with the whole schema) is what
	// `sites: [Name=string]: #Site` means, at a fraction of the cost.
	u := e.site.Unify(sv)
	if err := u.Validate(cue.Concrete(true)); err != nil {
		return nil, translateErrors(file, err, idx, name)
	}
	return extractSite(name, file, namePos, cueVal(u), idx)
}

// evalRepo evaluates the repo-level file.
func (e *evaluator) evalRepo(file string, src []byte) (*repoDecl, []Diagnostic) {
	f, ds := parseFile(file, src)
	if ds != nil {
		return nil, ds
	}
	if _, ds := checkShape(file, "", f, repoFile); ds != nil {
		return nil, ds
	}
	if ds := checkSubset(file, f); ds != nil {
		return nil, ds
	}
	idx := buildIndex(f)
	u, ds := e.eval(file, f, idx)
	if ds != nil {
		return nil, ds
	}
	return extractRepo(file, cueVal(u), idx)
}
