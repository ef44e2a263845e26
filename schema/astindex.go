package schema

import (
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// astIndex maps CUE paths ("sites.a.routes.\"/\".upstreams[0]") to where the file writes
// them, so diagnostics point at the user's text, not at the schema.
type astIndex map[string]astEntry

type astEntry struct {
	label token.Pos // the field's label (or the list element)
	value ast.Expr  // the value written there
}

func buildIndex(f *ast.File) astIndex {
	idx := astIndex{}
	var walkStruct func(prefix string, elts []ast.Decl)
	var walkValue func(key string, x ast.Expr)
	walkValue = func(key string, x ast.Expr) {
		switch x := x.(type) {
		case *ast.StructLit:
			walkStruct(key, x.Elts)
		case *ast.ListLit:
			for i, e := range x.Elts {
				k := key + "[" + strconv.Itoa(i) + "]"
				if _, ok := idx[k]; !ok {
					idx[k] = astEntry{label: e.Pos(), value: e}
				}
				walkValue(k, e)
			}
		case *ast.BinaryExpr: // a & b: look inside both
			walkValue(key, x.X)
			walkValue(key, x.Y)
		case *ast.ParenExpr:
			walkValue(key, x.X)
		}
	}
	walkStruct = func(prefix string, elts []ast.Decl) {
		for _, d := range elts {
			switch d := d.(type) {
			case *ast.Field:
				name, ok := labelString(d.Label)
				if !ok {
					continue
				}
				k := joinPath(prefix, name)
				if _, seen := idx[k]; !seen {
					idx[k] = astEntry{label: d.Label.Pos(), value: d.Value}
				}
				walkValue(k, d.Value)
			case *ast.EmbedDecl:
				walkValue(prefix, d.Expr)
			}
		}
	}
	walkStruct("", f.Decls)
	return idx
}

// joinPath appends a field name to a CUE path, quoting it unless it is an identifier.
func joinPath(prefix, name string) string {
	l := quoteKey(name)
	if prefix == "" {
		return l
	}
	return prefix + "." + l
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// pathKey turns CUE error path elements ("sites", "a", "hosts", "0") into an index key.
func pathKey(elems []string) string {
	var b strings.Builder
	for i, e := range elems {
		if _, err := strconv.Atoi(e); err == nil && i > 0 {
			b.WriteString("[" + e + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e) // CUE already quotes non-identifier labels
	}
	return b.String()
}

// lookup returns the entry at key or at its closest ancestor.
func (idx astIndex) lookup(key string) (astEntry, bool) {
	for key != "" {
		if e, ok := idx[key]; ok {
			return e, true
		}
		key = parentKey(key)
	}
	return astEntry{}, false
}

// parentKey drops the last element of a key, respecting quotes.
func parentKey(key string) string {
	inQuote := false
	last := -1
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == '.' || c == '['):
			last = i
		}
	}
	if last < 0 {
		return ""
	}
	return key[:last]
}

func toPos(p token.Pos) pos {
	if !p.IsValid() {
		return pos{}
	}
	return pos{p.Line(), p.Column()}
}

// keyAt returns the key whose label is at p.
func (idx astIndex) keyAt(p token.Pos) (string, bool) {
	if idx == nil || !p.IsValid() {
		return "", false
	}
	for k, e := range idx {
		if e.label.IsValid() && e.label.Line() == p.Line() && e.label.Column() == p.Column() && !strings.HasSuffix(k, "]") {
			return k, true
		}
	}
	return "", false
}

// splitKey splits an index key into CUE path elements (the inverse of pathKey).
func splitKey(key string) []string {
	var out []string
	for key != "" {
		parent := parentKey(key)
		last := key[len(parent):]
		last = strings.TrimPrefix(last, ".")
		last = strings.TrimSuffix(strings.TrimPrefix(last, "["), "]")
		out = append([]string{last}, out...)
		key = parent
	}
	return out
}

func isIndex(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}
