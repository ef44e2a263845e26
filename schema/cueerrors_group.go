package schema

import (
	"fmt"
	"strconv"
	"strings"

	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
)

// errorGroup is what describeGroup knows of the path the errors of one group are at.
type errorGroup struct {
	file      string
	path      []string // CUE path elements, site paths starting "sites", name
	key       string   // the index key of path
	shown     string   // path as the user writes it inside a site
	idx       astIndex // nil for syntax errors
	entry     astEntry // the user's text at path, if haveEntry
	haveEntry bool
	want      string // what a valid value at path looks like, or ""
}

func newErrorGroup(file string, path []string, idx astIndex) *errorGroup {
	g := &errorGroup{file: file, path: path, key: pathKey(path), shown: displayPath(path), idx: idx, want: expectations[pattern(path)]}
	if idx != nil {
		g.entry, g.haveEntry = idx[g.key]
	}
	return g
}

// position is the first position of errs in the user's file, else where the file writes
// the path's closest ancestor.
func (g *errorGroup) position(errs []errors.Error) token.Pos {
	for _, e := range errs {
		for _, ip := range append(e.InputPositions(), errors.Positions(e)...) {
			if ip.IsValid() && ip.Filename() == g.file {
				return ip
			}
		}
	}
	if g.idx != nil {
		if e, ok := g.idx.lookup(g.key); ok {
			return e.label
		}
	}
	return token.NoPos
}

// primaryError picks the error of a group to word: the first, unless one says a field is
// not allowed or missing (which names the mistake best).
func primaryError(errs []errors.Error) (first errors.Error, format string, args []any) {
	first = errs[0]
	format, args = first.Msg()
	for _, e := range errs {
		if f, _ := e.Msg(); f == "field not allowed" || f == "field is required but not present" {
			format, args = e.Msg()
			return e, format, args
		}
	}
	return first, format, args
}

// isInvalidValue reports whether a CUE error format says a value does not match.
func isInvalidValue(format string) bool {
	return strings.HasPrefix(format, "conflicting values") || strings.HasPrefix(format, "invalid value") ||
		strings.Contains(format, "errors in empty disjunction") || strings.HasPrefix(format, "value %v not")
}

// notAllowed words a field (written at p) that its struct may not have: a route without
// its leading "/", an invalid header name, or an unknown field with the closest known one.
func (g *errorGroup) notAllowed(p token.Pos) string {
	path := g.path
	if k, ok := g.idx.keyAt(p); ok {
		path = splitKey(k)
	}
	for len(path) > 1 && isIndex(path[len(path)-1]) {
		path = path[:len(path)-1]
	}
	parent, name := path[:len(path)-1], path[len(path)-1]
	ppat := pattern(parent)
	switch {
	case strings.HasSuffix(ppat, "routes"):
		return fmt.Sprintf("route %s must start with \"/\" (a path prefix such as \"/\" or \"/api\")", strconv.Quote(strings.Trim(name, `"`)))
	case strings.HasSuffix(ppat, "set"):
		return fmt.Sprintf("%s is not a valid header name (letters, digits and hyphens, e.g. \"X-Frame-Options\")", name)
	}
	fields := knownFields[ppat]
	msg := fmt.Sprintf("unknown field %s in %s", strconv.Quote(strings.Trim(name, `"`)), contextName(parent))
	if s := closest(strings.Trim(name, `"`), fields); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	if len(fields) > 0 {
		msg += fmt.Sprintf(" (%s may have: %s)", contextName(parent), strings.Join(fields, ", "))
	}
	return msg
}

// missingField words a required field that is not there.
func (g *errorGroup) missingField() string {
	return g.withWant(fmt.Sprintf("%s is missing the required field %q", contextName(g.path[:len(g.path)-1]), g.path[len(g.path)-1]))
}

// missingFieldPos is where to report a missing field: where it is written (as an empty
// or incomplete value), else at its struct.
func (g *errorGroup) missingFieldPos() (token.Pos, bool) {
	if g.haveEntry {
		return g.entry.label, true
	}
	if e, ok := g.idx.lookup(parentKey(g.key)); ok && g.idx != nil {
		return e.label, true
	}
	return token.NoPos, false
}

// unknownName words a reference to a name that does not exist: mostly text left unquoted.
func (g *errorGroup) unknownName(name string) string {
	msg := fmt.Sprintf("%s: unknown name %s; to write text, quote it: \"%s\"", g.shown, name, strings.Trim(name, `"`))
	if g.shown == "" {
		msg = msg[2:]
	}
	return msg
}

// withWant appends to msg what a valid value looks like, when that is known.
func (g *errorGroup) withWant(msg string) string {
	if g.want != "" {
		msg += ": want " + g.want
	}
	return msg
}

// invalidValue words a value that does not match the schema: the user's text and what
// would be valid.
func (g *errorGroup) invalidValue() string {
	found := ""
	if g.haveEntry && g.entry.value != nil {
		found = sourceText(g.entry.value)
	}
	if found != "" {
		return fmt.Sprintf("%s: %s is not valid here: want %s", g.shown, found, g.want)
	}
	return fmt.Sprintf("%s: want %s", g.shown, g.want)
}

// verbatim words an error the cases above do not know: CUE's message without its path
// (which is shown as the user writes it), or a syntax error.
func (g *errorGroup) verbatim(first errors.Error) string {
	msg := first.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(g.path) > 0 && strings.HasPrefix(msg, strings.Join(g.path, ".")) {
		msg = msg[i+2:]
	}
	if len(g.path) == 0 {
		if i := strings.Index(msg, ": "); strings.HasPrefix(msg, g.file) && i >= 0 {
			return "syntax error: " + msg[i+2:]
		}
		return "syntax error: " + msg
	}
	if g.shown != "" {
		return g.shown + ": " + msg
	}
	return msg
}
