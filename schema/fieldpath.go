package schema

import (
	"strconv"
	"strings"
)

// fieldPath is where in a file a value is written: the fields and list indexes from the
// file's top level down to the value. It renders both the astIndex key that finds the
// user's text (`sites.a.routes."/".upstreams[0]`) and the path diagnostics show, which
// starts below the site (`routes."/".upstreams[0]`), so neither is parsed back from the
// other.
type fieldPath struct {
	segs  []pathSeg
	shown int // the first segment shown in diagnostics: 2 in a site, below "sites" and its name
}

// pathSeg is one step of a fieldPath: a field name (unquoted), or a list index when
// isIndex.
type pathSeg struct {
	name    string
	index   int
	isIndex bool
}

// sitePath is the path of the site name in a site file: sites.<name>.
func sitePath(name string) fieldPath {
	return fieldPath{segs: []pathSeg{{name: "sites"}, {name: name}}, shown: 2}
}

// repoPath is the path of a top-level field of the repo file (defaults, policy).
func repoPath(field string) fieldPath {
	return fieldPath{segs: []pathSeg{{name: field}}}
}

// field is the path of the field name below p.
func (p fieldPath) field(name string) fieldPath {
	return p.with(pathSeg{name: name})
}

// index is the path of the i'th element of the list at p.
func (p fieldPath) index(i int) fieldPath {
	return p.with(pathSeg{index: i, isIndex: true})
}

func (p fieldPath) with(s pathSeg) fieldPath {
	segs := make([]pathSeg, len(p.segs), len(p.segs)+1)
	copy(segs, p.segs)
	return fieldPath{segs: append(segs, s), shown: p.shown}
}

// parent is the path one step up; the parent of a single field is the empty path.
func (p fieldPath) parent() fieldPath {
	if len(p.segs) == 0 {
		return p
	}
	return fieldPath{segs: p.segs[:len(p.segs)-1], shown: min(p.shown, len(p.segs)-1)}
}

// key renders p as an astIndex key: field names joined by dots and quoted unless they are
// identifiers, list indexes in brackets.
func (p fieldPath) key() string {
	return renderSegs(p.segs)
}

// String renders p as diagnostics show it: relative to the site in a site file.
func (p fieldPath) String() string {
	return renderSegs(p.segs[min(p.shown, len(p.segs)):])
}

func renderSegs(segs []pathSeg) string {
	var b strings.Builder
	for i, s := range segs {
		if s.isIndex {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(quoteKey(s.name))
	}
	return b.String()
}

// quoteKey writes a field name as a CUE label: as is when it is an identifier, else quoted.
func quoteKey(name string) string {
	if isIdent(name) {
		return name
	}
	return strconv.Quote(name)
}
