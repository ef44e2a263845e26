package schema

import (
	"fmt"
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/scanner"
	"cuelang.org/go/cue/token"
)

// Limits on the shape of a file, far above what a hand-written file needs and low enough
// that no file can exhaust the stack or the CPU of the parser and evaluator.
const (
	maxNesting   = 48  // brackets, braces, parentheses, `a: b: c:` chains, unary chains
	maxOperators = 512 // operator tokens (&, |, +, ., unary -, ...) per file
)

// checkNesting scans src (without parsing, which is recursive) and refuses files nested
// deeper than maxNesting, with more than maxOperators operators, or with comprehensions.
func checkNesting(file string, src []byte) (Diagnostic, bool) {
	type frame struct {
		colons int
		interp bool
	}
	tf := token.NewFile(file, 0, len(src))
	var s scanner.Scanner
	s.Init(tf, src, nil, 0)
	stack := []frame{{}}
	depth := func() int {
		d := 0
		for _, f := range stack {
			d += 1 + f.colons
		}
		return d
	}
	ops, unary := 0, 0
	pendingInterp := false
	prev := token.ILLEGAL
	fail := func(p token.Pos, msg string) (Diagnostic, bool) {
		return Diagnostic{File: file, Line: p.Line(), Col: p.Column(), Severity: SeverityError, Message: msg}, false
	}
	for {
		p, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		top := &stack[len(stack)-1]
		switch tok {
		case token.INTERPOLATION:
			pendingInterp = strings.HasSuffix(lit, "(")
		case token.LPAREN, token.LBRACK, token.LBRACE:
			stack = append(stack, frame{interp: tok == token.LPAREN && pendingInterp})
			pendingInterp = false
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if len(stack) > 1 {
				f := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if f.interp {
					pendingInterp = strings.HasSuffix(s.ResumeInterpolation(), "(")
				}
			}
		case token.COLON:
			top.colons++
		case token.COMMA:
			top.colons = 0
		case token.FOR:
			return fail(p, "the file uses a `for` comprehension; config repo files declare values plainly, write them out")
		case token.IDENT, token.STRING, token.INT, token.FLOAT, token.TRUE, token.FALSE, token.NULL, token.BOTTOM:
		default:
			if tok.IsOperator() {
				ops++
				if ops > maxOperators {
					return fail(p, fmt.Sprintf("the file has more than %d operators; a config file declares values, it does not compute them", maxOperators))
				}
			}
		}
		if tok.IsOperator() && tok != token.COLON && tok != token.COMMA && isOperand(prev) == false {
			unary++
		} else {
			unary = 0
		}
		if d := depth() + unary; d > maxNesting {
			return fail(p, fmt.Sprintf("the file is nested more than %d levels deep; flatten it (a site needs fewer than 10)", maxNesting))
		}
		prev = tok
	}
	return Diagnostic{}, true
}

// isOperand reports whether tok ends an operand, so an operator after it is binary.
func isOperand(tok token.Token) bool {
	switch tok {
	case token.IDENT, token.STRING, token.INT, token.FLOAT, token.TRUE, token.FALSE, token.NULL,
		token.BOTTOM, token.RPAREN, token.RBRACK, token.RBRACE, token.INTERPOLATION:
		return true
	}
	return false
}

// checkShape checks the top level of a parsed file: `package edge`, no imports, and only
// `sites: <name>: {...}` (site files) or `defaults`/`policy` (the repo file). It returns the
// position of the site's label.
func checkShape(file, name string, f *ast.File, kind fileKind) (pos, []Diagnostic) {
	var ds []Diagnostic
	add := func(p token.Pos, format string, args ...any) {
		ds = append(ds, Diagnostic{File: file, Line: p.Line(), Col: p.Column(), Severity: SeverityError, Message: fmt.Sprintf(format, args...)})
	}
	var namePos pos
	sitesPos := pos{1, 1} // where "declares no site" points: the `sites` label, else 1:1
	sawPkg := false
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.Package:
			sawPkg = true
			if d.Name == nil || d.Name.Name != "edge" {
				add(d.Pos(), "the package is %q; every file of a config repo must start with `package edge`", identName(d.Name))
			}
		case *ast.ImportDecl:
			add(d.Pos(), "imports are not allowed in a config repo file; declare the values plainly")
		case *ast.CommentGroup, *ast.Attribute:
		case *ast.Field:
			label, ok := labelString(d.Label)
			if kind == repoFile {
				if !ok || (label != "defaults" && label != "policy" && label != "issuers") {
					add(d.Pos(), "%s may only set `defaults`, `policy` and `issuers`; declare sites in sites/<name>.cue", file)
				}
				continue
			}
			if !ok || label != "sites" {
				add(d.Pos(), "a site file may only declare `sites: %s: {...}`; found %s (defaults and policy belong in edge.cue at the repo root)", CUELabel(name), describeLabel(d.Label))
				continue
			}
			sitesPos = pos{d.Pos().Line(), d.Pos().Column()}
			if d.Constraint != token.ILLEGAL {
				add(d.Pos(), "write `sites:`, without `?` or `!`")
			}
			st, ok := d.Value.(*ast.StructLit)
			if !ok {
				add(d.Value.Pos(), "`sites` must hold the site: write `sites: %s: {...}`", CUELabel(name))
				continue
			}
			for _, e := range st.Elts {
				switch e := e.(type) {
				case *ast.CommentGroup, *ast.Attribute:
				case *ast.Field:
					l, ok := labelString(e.Label)
					if !ok || l != name || e.Constraint != token.ILLEGAL {
						add(e.Pos(), "declares site %s, but this file can only declare site %q (its file name); write `sites: %s: {...}` or rename the file",
							describeLabel(e.Label), name, CUELabel(name))
						continue
					}
					if namePos.Line == 0 {
						namePos = pos{e.Pos().Line(), e.Pos().Column()}
					}
				default:
					add(e.Pos(), "`sites` may only hold the site: write `sites: %s: {...}`", CUELabel(name))
				}
			}
		default:
			add(d.Pos(), "only `sites: %s: {...}` may be declared at the top level of a site file; definitions, lets and embedded values would be shared with every other file", CUELabel(name))
			if kind == repoFile {
				ds[len(ds)-1].Message = "only `defaults: {...}` and `policy: {...}` may be declared at the top level of " + file
			}
		}
	}
	if !sawPkg {
		ds = append([]Diagnostic{{File: file, Line: 1, Col: 1, Severity: SeverityError,
			Message: "the file has no package clause; start it with `package edge`"}}, ds...)
	}
	if kind == siteFile && len(ds) == 0 && namePos.Line == 0 {
		ds = append(ds, Diagnostic{File: file, Line: sitesPos.Line, Col: sitesPos.Col, Severity: SeverityError,
			Message: fmt.Sprintf("declares no site; write `sites: %s: {...}` (the file's name)", CUELabel(name))})
	}
	return namePos, ds
}

// labelString returns a plain (non-definition, non-hidden, non-pattern) label's name.
func labelString(l ast.Label) (string, bool) {
	switch l := l.(type) {
	case *ast.Ident:
		if strings.HasPrefix(l.Name, "#") || strings.HasPrefix(l.Name, "_") {
			return l.Name, false
		}
		return l.Name, true
	case *ast.BasicLit:
		if l.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(l.Value)
		if err != nil {
			name, _, err := ast.LabelName(l)
			return name, err == nil
		}
		return s, true
	}
	return "", false
}

func describeLabel(l ast.Label) string {
	if s, ok := labelString(l); ok {
		return strconv.Quote(s)
	}
	switch l := l.(type) {
	case *ast.Ident:
		return "`" + l.Name + "`"
	case *ast.ListLit:
		return "a pattern constraint `[...]:`"
	case *ast.ParenExpr:
		return "a computed label `(...)`"
	}
	return "a computed label"
}

func identName(id *ast.Ident) string {
	if id == nil {
		return ""
	}
	return id.Name
}

// CUELabel returns name as a CUE label: bare when it is a plain identifier that is not a
// keyword, else quoted. Generators of site files (sitegen, the demo) use it too.
func CUELabel(name string) string {
	switch name {
	case "", "package", "import", "for", "in", "if", "let", "true", "false", "null", "div", "mod", "quo", "rem", "func":
		return strconv.Quote(name)
	}
	for i, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return strconv.Quote(name)
		}
	}
	return name
}
