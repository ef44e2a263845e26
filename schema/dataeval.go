package schema

import (
	"slices"
	"strconv"
	"unicode/utf8"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// The data evaluator reads a site file that is plain data of a shape it knows fully into the
// value CUE would make of it, unified with #Site and completed with its defaults, without
// CUE. Anything it is not sure of makes it decline (ok false): a construct, a field or a
// type it does not know, a value the schema refuses, a field written twice, a string with
// an escape, a number that is not a plain decimal integer. CUE then evaluates the file and
// reports what is wrong with it, so the data evaluator never has errors of its own.

// dataSiteValue returns the value of site name declared by the parsed file f, checked
// against dsSite and completed with its defaults; ok is false when it declines.
func dataSiteValue(f *ast.File, name string) (n *dataNode, ok bool) {
	sv, ok := siteStruct(f, name)
	if !ok {
		return nil, false
	}
	return dataValue(sv, dsSite)
}

// siteStruct finds the struct of `sites: <name>: {...}`, the file's only declaration
// besides the package clause and comments.
func siteStruct(f *ast.File, name string) (*ast.StructLit, bool) {
	var sites *ast.Field
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.Package, *ast.CommentGroup:
		case *ast.Field:
			if sites != nil {
				return nil, false
			}
			sites = d
		default:
			return nil, false
		}
	}
	if sites == nil || !plainField(sites) {
		return nil, false
	}
	if l, ok := dataLabel(sites.Label); !ok || l != "sites" {
		return nil, false
	}
	fs, ok := structFields(sites.Value)
	if !ok || len(fs) != 1 {
		return nil, false
	}
	if l, ok := dataLabel(fs[0].Label); !ok || l != name {
		return nil, false
	}
	st, ok := fs[0].Value.(*ast.StructLit)
	return st, ok
}

// plainField reports whether f is `label: value` without markers, aliases or attributes.
func plainField(f *ast.Field) bool {
	return f.Alias == nil && f.Constraint == token.ILLEGAL && len(f.Attrs) == 0
}

// structFields returns the fields of a struct literal, which must hold nothing else
// (comments aside).
func structFields(x ast.Expr) ([]*ast.Field, bool) {
	st, ok := x.(*ast.StructLit)
	if !ok {
		return nil, false
	}
	fs := make([]*ast.Field, 0, len(st.Elts))
	for _, d := range st.Elts {
		switch d := d.(type) {
		case *ast.CommentGroup:
		case *ast.Field:
			if !plainField(d) {
				return nil, false
			}
			fs = append(fs, d)
		default:
			return nil, false
		}
	}
	return fs, true
}

// dataLabel returns a field's name: an identifier that is not hidden, a definition or a
// keyword, or a plain string.
func dataLabel(l ast.Label) (string, bool) {
	switch l := l.(type) {
	case *ast.Ident:
		if !plainIdent(l.Name) {
			return "", false
		}
		return l.Name, true
	case *ast.BasicLit:
		return plainString(l)
	}
	return "", false
}

// plainIdent reports whether s is an identifier of ASCII letters, digits and underscores
// that starts with a letter and is no keyword or predeclared name of CUE.
func plainIdent(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	switch s {
	case "package", "import", "for", "in", "if", "let", "true", "false", "null", "func":
		return false
	}
	return !isTypeName(s)
}

// plainString returns the value of a double-quoted single-line string literal without
// escapes or interpolation, in valid UTF-8.
func plainString(x *ast.BasicLit) (string, bool) {
	v := x.Value
	if x.Kind != token.STRING || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' || len(v) >= 3 && v[:3] == `"""` {
		return "", false
	}
	s := v[1 : len(v)-1]
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c == '"' || c < 0x20 || c == 0x7f {
			return "", false
		}
	}
	if !utf8.ValidString(s) {
		return "", false
	}
	return s, true
}

// plainInt returns the value of a decimal integer literal without sign, separators,
// multipliers or leading zeros, of at most 18 digits.
func plainInt(x *ast.BasicLit) (int64, bool) {
	v := x.Value
	if x.Kind != token.INT || v == "" || len(v) > 18 || (v[0] == '0' && len(v) > 1) {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// dataValue reads x as a value of spec s.
func dataValue(x ast.Expr, s *dataSpec) (*dataNode, bool) {
	if s.alt != nil && !sameKind(x, s.kind) {
		return dataValue(x, s.alt)
	}
	switch s.kind {
	case dataString:
		lit, ok := x.(*ast.BasicLit)
		if !ok {
			return nil, false
		}
		str, ok := plainString(lit)
		if !ok || !s.allowsString(str) {
			return nil, false
		}
		return strNode(str), true
	case dataBool:
		lit, ok := x.(*ast.BasicLit)
		if !ok || (lit.Kind != token.TRUE && lit.Kind != token.FALSE) {
			return nil, false
		}
		return boolNode(lit.Kind == token.TRUE), true
	case dataInt:
		lit, ok := x.(*ast.BasicLit)
		if !ok {
			return nil, false
		}
		n, ok := plainInt(lit)
		if !ok || n < s.lo || n > s.hi || (s.ints != nil && !slices.Contains(s.ints, n)) {
			return nil, false
		}
		return intNode(n), true
	case dataList:
		return dataListValue(x, s)
	case dataStruct:
		return dataStructValue(x, s)
	}
	return nil, false
}

// sameKind reports whether x is written as a value of kind k.
func sameKind(x ast.Expr, k dataKind) bool {
	switch x := x.(type) {
	case *ast.BasicLit:
		switch x.Kind {
		case token.STRING:
			return k == dataString
		case token.TRUE, token.FALSE:
			return k == dataBool
		case token.INT:
			return k == dataInt
		}
	case *ast.ListLit:
		return k == dataList
	case *ast.StructLit:
		return k == dataStruct
	}
	return false
}

// allowsString reports whether the string constraint s allows str.
func (s *dataSpec) allowsString(str string) bool {
	if s.enum != nil && !slices.Contains(s.enum, str) {
		return false
	}
	for _, re := range s.match {
		if !re.MatchString(str) {
			return false
		}
	}
	for _, re := range s.notMatch {
		if re.MatchString(str) {
			return false
		}
	}
	return true
}

// dataListValue reads the list literal x.
func dataListValue(x ast.Expr, s *dataSpec) (*dataNode, bool) {
	l, ok := x.(*ast.ListLit)
	if !ok || len(l.Elts) < s.minElems {
		return nil, false
	}
	n := &dataNode{kind: dataList, elems: make([]*dataNode, 0, len(l.Elts))}
	for _, e := range l.Elts {
		en, ok := dataValue(e, s.elem)
		if !ok {
			return nil, false
		}
		n.elems = append(n.elems, en)
	}
	return n, true
}

// dataStructValue reads the struct literal x: each field written once, each declared by s
// or matching its pattern, each required one written; the unwritten fields with a default
// follow the written ones.
func dataStructValue(x ast.Expr, s *dataSpec) (*dataNode, bool) {
	fs, ok := structFields(x)
	if !ok {
		return nil, false
	}
	n := &dataNode{kind: dataStruct, fields: make([]dataField, 0, len(fs)+len(s.fields)), spec: s}
	for _, f := range fs {
		name, ok := dataLabel(f.Label)
		if !ok || n.field(name) != nil {
			return nil, false
		}
		fspec := s.fieldSpec(name)
		if fspec == nil {
			return nil, false
		}
		v, ok := dataValue(f.Value, fspec)
		if !ok {
			return nil, false
		}
		n.fields = append(n.fields, dataField{name, v})
	}
	return n, completeStruct(n, s)
}

// fieldSpec is the spec of the field called name of struct s, or nil when s allows no
// such field.
func (s *dataSpec) fieldSpec(name string) *dataSpec {
	if fs, ok := s.fields[name]; ok {
		return fs.spec
	}
	if s.keyMatch != nil && s.keyMatch.MatchString(name) {
		return s.keyValue
	}
	return nil
}

// completeStruct adds to n the defaults of the fields it does not set, in a fixed order,
// and reports whether it sets every required field.
func completeStruct(n *dataNode, s *dataSpec) bool {
	names := make([]string, 0, len(s.fields))
	for name := range s.fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fs := s.fields[name]
		if n.field(name) != nil {
			continue
		}
		if fs.required {
			return false
		}
		if fs.dflt != nil {
			n.fields = append(n.fields, dataField{name, fs.dflt})
		}
	}
	return true
}
