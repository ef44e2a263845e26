package schema

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// The data subset of CUE. A site file or edge.cue declares values: the parsed file may hold
// only the package clause, comments, fields labelled by identifiers or quoted strings, and
// values that are struct literals, list literals, strings without interpolation, numbers
// (a leading minus allowed), true, false and null. Everything that makes CUE compute
// (references, operators, disjunctions, defaults, interpolation, comprehensions,
// embeddings, patterns, lets, aliases, attributes) is refused before evaluation, because
// evaluating it can cost any amount of memory and time: a 1 KB file of `_sN: _s(N-1) +
// _s(N-1)` needs 2^34 bytes. Every agent of the fleet evaluates the same commit.

const (
	// maxSubsetDiagnostics is how many constructs outside the subset one file reports.
	maxSubsetDiagnostics = 10
	// maxNumberLen bounds a number literal: no setting needs more digits, and a literal of a
	// million digits took 20 s to evaluate.
	maxNumberLen = 64
	// maxValues bounds the fields and list elements of one file. A site needs a few dozen;
	// evaluating and checking each costs about a millisecond and 10 KB, and 20,000
	// redirects in a 400 KB file need more than 2 GB of address space.
	maxValues = 10000
	// dataHint ends every subset diagnostic.
	dataHint = "a config file declares values, it does not compute them"
)

// checkSubset walks a parsed file and refuses every construct outside the data subset, each
// with its position. Nesting is bounded by checkNesting, so the recursion is shallow.
func checkSubset(file string, f *ast.File) []Diagnostic {
	w := subsetWalker{file: file}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.Package, *ast.CommentGroup:
		case *ast.ImportDecl:
			w.refuse(d.Pos(), "an import is not allowed", "declare the values plainly")
		default:
			w.decl(d)
		}
	}
	if w.more > 0 {
		w.ds = append(w.ds, Diagnostic{File: file, Line: w.morePos.Line(), Col: w.morePos.Column(), Severity: SeverityError,
			Message: fmt.Sprintf("and %d more constructs outside the data subset of CUE (see schema/README.md, \"What a file may contain\")", w.more)})
	}
	return w.ds
}

type subsetWalker struct {
	file    string
	values  int // fields and list elements seen
	ds      []Diagnostic
	more    int
	morePos token.Pos
}

// refuse records that the construct at p (what, e.g. "the operator `+`") is outside the
// subset; fix says what to write instead.
func (w *subsetWalker) refuse(p token.Pos, what, fix string) {
	w.add(p, fmt.Sprintf("%s; %s: %s", what, dataHint, fix))
}

// add records a diagnostic at p, up to maxSubsetDiagnostics, and counts the rest.
func (w *subsetWalker) add(p token.Pos, msg string) {
	if len(w.ds) >= maxSubsetDiagnostics {
		if w.more == 0 {
			w.morePos = p
		}
		w.more++
		return
	}
	w.ds = append(w.ds, Diagnostic{File: w.file, Line: p.Line(), Col: p.Column(), Severity: SeverityError, Message: msg})
}

// count counts a field or list element at p and reports whether the walk may go on.
func (w *subsetWalker) count(p token.Pos) bool {
	w.values++
	if w.values > maxValues {
		if w.values == maxValues+1 {
			w.add(p, fmt.Sprintf("the file holds more than %d values (fields and list elements); a site needs a few dozen, and each costs evaluation time and memory", maxValues))
		}
		return false
	}
	return true
}

// decl checks one element of a struct (or of the file).
func (w *subsetWalker) decl(d ast.Decl) {
	switch d := d.(type) {
	case *ast.CommentGroup:
	case *ast.Field:
		w.field(d)
	case *ast.Attribute:
		w.attribute(d)
	case *ast.LetClause:
		w.refuse(d.Pos(), "`let` is not allowed", "write the value where it is used")
	case *ast.EmbedDecl:
		w.refuse(d.Pos(), "an embedded value (a value without a field name) is not allowed", "write fields as `name: value`")
	case *ast.Ellipsis:
		w.refuse(d.Pos(), "`...` is not allowed", "the schema says which fields a struct may have; write them out")
	case *ast.Comprehension:
		w.refuse(d.Pos(), "a comprehension (`if`, `for`) is not allowed", "write the fields out")
	case *ast.Alias:
		w.refuse(d.Pos(), "an alias (`X=`) is not allowed", "write the value where it is used")
	default:
		w.refuse(d.Pos(), fmt.Sprintf("this declaration (%s) is not allowed", nodeName(d)), "write `name: value`")
	}
}

func (w *subsetWalker) attribute(a *ast.Attribute) {
	hint := "attributes mean nothing in a config file; remove it"
	if name := a.Name(); name == "embed" || name == "extern" {
		hint = "files cannot be embedded; write the value out"
	}
	w.refuse(a.Pos(), fmt.Sprintf("the attribute `%s` is not allowed", truncate(a.Text, 40)), hint)
}

// field checks a field's label, markers, attributes and value.
func (w *subsetWalker) field(f *ast.Field) {
	if !w.count(f.Pos()) {
		return
	}
	ok := w.label(f.Label)
	if f.Alias != nil {
		w.refuse(f.Alias.Pos(), "an alias (`~X`) is not allowed", "write the value where it is used")
		ok = false
	}
	switch f.Constraint {
	case token.OPTION, token.NOT:
		w.refuse(f.Label.Pos(), fmt.Sprintf("the marker `%s` after a field name is not allowed", f.Constraint),
			"set the field to a value, or leave it out")
		ok = false
	}
	for _, a := range f.Attrs {
		w.attribute(a)
	}
	if ok {
		w.expr(f.Value)
	}
}

// label checks a field label: an identifier that is neither hidden nor a definition, or a
// quoted string. It reports whether the field's value is worth checking.
func (w *subsetWalker) label(l ast.Label) bool {
	switch l := l.(type) {
	case *ast.Ident:
		switch {
		case strings.HasPrefix(l.Name, "#") || strings.HasPrefix(l.Name, "_#"):
			w.refuse(l.Pos(), fmt.Sprintf("the definition `%s` is not allowed", l.Name), "write the value where it is used")
			return false
		case strings.HasPrefix(l.Name, "_"):
			w.refuse(l.Pos(), fmt.Sprintf("the hidden field `%s` is not allowed", l.Name), "write the value where it is used")
			return false
		}
		return true
	case *ast.BasicLit:
		if l.Kind == token.STRING {
			return true
		}
	case *ast.Interpolation:
		w.refuse(l.Pos(), "a field name with interpolation `\\(...)` is not allowed", "write the name out")
		return false
	case *ast.ListLit:
		w.refuse(l.Pos(), "a pattern constraint `[...]: ...` is not allowed", "name each field")
		return false
	case *ast.Alias:
		w.refuse(l.Pos(), "an alias (`X=`) is not allowed", "write the value where it is used")
		return false
	case *ast.ParenExpr:
		w.refuse(l.Pos(), "a computed field name `(...)` is not allowed", "write the name out")
		return false
	}
	w.refuse(l.Pos(), fmt.Sprintf("this field name (%s) is not allowed", nodeName(l)), "write an identifier or a quoted string")
	return false
}

// expr checks a value.
func (w *subsetWalker) expr(x ast.Expr) {
	switch x := x.(type) {
	case *ast.StructLit:
		for _, d := range x.Elts {
			w.decl(d)
		}
	case *ast.ListLit:
		for _, e := range x.Elts {
			if !w.count(e.Pos()) {
				return
			}
			w.expr(e)
		}
	case *ast.BasicLit:
		w.literal(x)
	case *ast.UnaryExpr:
		w.unary(x)
	case *ast.BinaryExpr:
		w.binary(x)
	case *ast.Ident:
		w.ident(x)
	case *ast.Interpolation:
		w.refuse(x.Pos(), "string interpolation `\\(...)` is not allowed", "write the string out")
	case *ast.Ellipsis:
		w.refuse(x.Pos(), "`...` is not allowed", "the schema says what a list may hold; write the elements out")
	case *ast.Comprehension:
		w.refuse(x.Pos(), "a comprehension (`for`, `if`) is not allowed", "write the elements out")
	case *ast.SelectorExpr, *ast.IndexExpr, *ast.SliceExpr:
		w.refuse(x.Pos(), fmt.Sprintf("the reference `%s` is not allowed", truncate(exprText(x), 40)), "write the value out")
	case *ast.CallExpr:
		w.refuse(x.Pos(), "a function call is not allowed", "write the value out")
	case *ast.ParenExpr:
		w.refuse(x.Pos(), "parentheses are not allowed", "write the value out")
	case *ast.BottomLit:
		w.refuse(x.Pos(), "`_|_` is not allowed", "write the value out")
	default:
		w.refuse(x.Pos(), fmt.Sprintf("this expression (%s) is not allowed", nodeName(x)), "write the value out")
	}
}

// literal accepts strings, numbers, true, false and null.
func (w *subsetWalker) literal(x *ast.BasicLit) {
	switch x.Kind {
	case token.INT, token.FLOAT:
		if len(x.Value) > maxNumberLen {
			w.refuse(x.Pos(), fmt.Sprintf("a number of %d characters is not allowed", len(x.Value)),
				fmt.Sprintf("no setting needs more than %d", maxNumberLen))
		}
	case token.STRING, token.TRUE, token.FALSE, token.NULL:
	default:
		w.refuse(x.Pos(), fmt.Sprintf("the literal %s is not allowed", truncate(x.Value, 20)), "write a string, number, true, false or null")
	}
}

// unary accepts only a minus sign before a number literal.
func (w *subsetWalker) unary(x *ast.UnaryExpr) {
	if lit, ok := x.X.(*ast.BasicLit); ok && x.Op == token.SUB && (lit.Kind == token.INT || lit.Kind == token.FLOAT) {
		w.literal(lit)
		return
	}
	switch x.Op {
	case token.MUL:
		w.refuse(x.OpPos, "a default `*` is not allowed", "write the one value you mean")
	case token.SUB:
		w.refuse(x.OpPos, "`-` is allowed only before a number", "write the value out")
	default:
		w.refuse(x.OpPos, fmt.Sprintf("the constraint `%s` is not allowed", x.Op), "the schema checks the ranges; write the value")
	}
}

// binary refuses an operator, at its first occurrence in a chain such as `a & b & c`.
func (w *subsetWalker) binary(x *ast.BinaryExpr) {
	if star, ok := defaultMarker(x); ok && x.Op == token.OR {
		w.refuse(star, "a default `*` in a disjunction is not allowed", "write the one value you mean")
		return
	}
	for {
		l, ok := x.X.(*ast.BinaryExpr)
		if !ok || l.Op != x.Op {
			break
		}
		x = l
	}
	switch x.Op {
	case token.OR:
		w.refuse(x.OpPos, "a disjunction `|` is not allowed", "write the one value you mean")
	case token.AND:
		w.refuse(x.OpPos, "unification `&` is not allowed", "write the single value it stands for")
	default:
		w.refuse(x.OpPos, fmt.Sprintf("the operator `%s` is not allowed", x.Op), "write the resulting value out")
	}
}

// defaultMarker returns the position of the first `*` among the operands of the
// disjunction x.
func defaultMarker(x *ast.BinaryExpr) (token.Pos, bool) {
	for _, o := range []ast.Expr{x.X, x.Y} {
		switch o := o.(type) {
		case *ast.UnaryExpr:
			if o.Op == token.MUL {
				return o.OpPos, true
			}
		case *ast.BinaryExpr:
			if o.Op == token.OR {
				if p, ok := defaultMarker(o); ok {
					return p, true
				}
			}
		}
	}
	return token.NoPos, false
}

func (w *subsetWalker) ident(x *ast.Ident) {
	switch {
	case x.Name == "_":
		w.refuse(x.Pos(), "`_` (any value) is not allowed", "write the value out")
	case strings.HasPrefix(x.Name, "#") || strings.HasPrefix(x.Name, "_"):
		w.refuse(x.Pos(), fmt.Sprintf("the reference `%s` is not allowed", x.Name), "write the value out")
	case isTypeName(x.Name):
		w.refuse(x.Pos(), fmt.Sprintf("the type `%s` is not a value", x.Name), "write a value of that type (the schema has the types)")
	default:
		w.refuse(x.Pos(), fmt.Sprintf("the reference `%s` is not allowed", x.Name), "write the value out (quote it if it is a string: \""+x.Name+"\")")
	}
}

func isTypeName(s string) bool {
	switch s {
	case "string", "int", "float", "number", "bool", "bytes",
		"uint", "uint8", "uint16", "uint32", "uint64", "uint128", "int8", "int16", "int32", "int64", "int128",
		"rune", "float32", "float64":
		return true
	}
	return false
}

// exprText renders a short reference such as a.b or a[0] for a message.
func exprText(x ast.Expr) string {
	switch x := x.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		if l, ok := labelString(x.Sel); ok || l != "" {
			return exprText(x.X) + "." + l
		}
		return exprText(x.X) + ".…"
	case *ast.IndexExpr:
		return exprText(x.X) + "[…]"
	case *ast.SliceExpr:
		return exprText(x.X) + "[…:…]"
	}
	return "…"
}

// nodeName names a node's syntax type for messages about constructs without a plain name.
func nodeName(n ast.Node) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", n), "*ast.")
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
