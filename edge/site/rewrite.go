package site

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of rewrites, shared by the schema (which refuses more) and the data plane.
const (
	// MaxRewrites bounds the rewrites of one site.
	MaxRewrites = 64
	// MaxRewriteFrom bounds the length of a pattern, in bytes.
	MaxRewriteFrom = 1024
	// MaxRewriteTo bounds the length of a target, in bytes.
	MaxRewriteTo = 2048
	// MaxRewriteCaptures bounds the captures of one pattern.
	MaxRewriteCaptures = 16
	// maxCaptureName bounds the length of a capture's name.
	maxCaptureName = 32
)

// Rewrite changes the path (and query) of a request before it is routed, inside the edge:
// the client sees no redirect. A site's rewrites are tried in order; the first whose From
// matches applies, once (its result is routed, not matched against the rewrites again).
//
// From is a path pattern: "/" followed by segments separated by "/". A segment is literal
// text, or a capture "{name}" that matches one whole non-empty segment; the last segment
// may be "{name...}", which matches the rest of the path (zero or more segments, without
// the leading "/"). "/blog/{year}/{slug}" matches "/blog/2024/hello" but neither
// "/blog/2024" nor "/blog/2024/hello/x"; "/static/{rest...}" matches "/static",
// "/static/" and "/static/a/b.css". A pattern ending in "/" matches only paths ending in
// "/". Literals are compared exactly (case-sensitive) with the request's decoded, cleaned
// path.
//
// To is the new path with an optional query: "/posts/{slug}?y={year}". Captures may
// appear anywhere in it except in a query parameter's name; in the path they are inserted
// as decoded text (the result is cleaned, so no capture climbs with ".."), in the query
// they are query-escaped. Query merging: without "?" in To the request's query is kept as
// it is; with "?" the query is To's, followed by the request's parameters whose names To
// does not set (To's value wins); a To ending in "?" drops the request's query.
type Rewrite struct {
	// From is the pattern matched against the request path.
	From string
	// To is the path and optional query the request is given.
	To string
}

// RewriteError is a problem with a rewrite, at a byte offset of its From or To.
type RewriteError struct {
	// Field is "from" or "to".
	Field string
	// Offset is the byte offset in the field's text where the problem is.
	Offset int
	// Msg says what is wrong.
	Msg string
}

func (e *RewriteError) Error() string {
	return fmt.Sprintf("%s: at character %d: %s", e.Field, e.Offset+1, e.Msg)
}

// RewriteRule is a compiled Rewrite: match it with Apply. It is safe for concurrent use.
type RewriteRule struct {
	from     []patSeg
	rest     int // index in names of the "{name...}" capture; -1 without one
	names    []string
	path     []tmplPart
	query    []tmplPart
	hasQuery bool
	setKeys  []string // the query parameter names To sets
}

// patSeg is a segment of a pattern: literal text, or capture number capture.
type patSeg struct {
	lit     string
	capture int // -1 for a literal
}

// tmplPart is a piece of a target: literal text, or capture number capture.
type tmplPart struct {
	lit     string
	capture int // -1 for a literal
}

// CompileRewrite checks rw and compiles it. The error, if any, is a *RewriteError.
func CompileRewrite(rw Rewrite) (*RewriteRule, error) {
	rr := &RewriteRule{rest: -1}
	if err := rr.parseFrom(rw.From); err != nil {
		return nil, err
	}
	if err := rr.parseTo(rw.To); err != nil {
		return nil, err
	}
	return rr, nil
}

// Names returns the capture names of the pattern, in order.
func (rr *RewriteRule) Names() []string { return rr.names }

// checkText refuses what no path pattern or target holds: over-long text, no leading
// "/", a fragment, white space and control or invisible characters, invalid UTF-8.
func checkText(field, s string, limit int) error {
	bad := func(off int, format string, args ...any) error {
		return &RewriteError{Field: field, Offset: off, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case len(s) > limit:
		return bad(limit, "is %d bytes long; at most %d", len(s), limit)
	case !strings.HasPrefix(s, "/"):
		return bad(0, "must begin with \"/\"")
	}
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			return bad(i, "is not valid UTF-8")
		case r == '#':
			return bad(i, "holds \"#\"; a path has no fragment")
		case unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return bad(i, "holds the white-space, control or invisible character %U; percent-encode it", r)
		}
	}
	return nil
}

// parseFrom compiles the pattern s.
func (rr *RewriteRule) parseFrom(s string) error {
	if err := checkText("from", s, MaxRewriteFrom); err != nil {
		return err
	}
	bad := func(off int, format string, args ...any) error {
		return &RewriteError{Field: "from", Offset: off, Msg: fmt.Sprintf(format, args...)}
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return bad(i, "holds \"?\"; a pattern matches the path only (the query is kept, see to)")
	}
	segs := strings.Split(s[1:], "/")
	off := 1
	for i, seg := range segs {
		last := i == len(segs)-1
		ps, err := rr.parseSeg(seg, off, last, len(segs) == 1)
		if err != nil {
			return err
		}
		if ps != nil {
			rr.from = append(rr.from, *ps)
		}
		off += len(seg) + 1
	}
	if len(rr.names) > MaxRewriteCaptures {
		return bad(0, "has %d captures; at most %d", len(rr.names), MaxRewriteCaptures)
	}
	return nil
}

// parseSeg compiles one segment seg of a pattern, at byte offset off. It returns nil for
// the "{name...}" capture, which is rr.rest.
func (rr *RewriteRule) parseSeg(seg string, off int, last, only bool) (*patSeg, error) {
	bad := func(o int, format string, args ...any) error {
		return &RewriteError{Field: "from", Offset: off + o, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case seg == "" && !last:
		return nil, bad(0, "has an empty segment (\"//\"); paths are cleaned before they are matched")
	case seg == "" && only:
		return &patSeg{capture: -1}, nil // "/"
	case seg == "." || seg == "..":
		return nil, bad(0, "has a %q segment, which no cleaned path has", seg)
	}
	open := strings.IndexByte(seg, '{')
	if open < 0 {
		if c := strings.IndexByte(seg, '}'); c >= 0 {
			return nil, bad(c, "has a \"}\" without \"{\"")
		}
		lit, err := unescapeLiteral(seg)
		if err != nil {
			return nil, bad(0, "%v", err)
		}
		return &patSeg{lit: lit, capture: -1}, nil
	}
	if open > 0 || !strings.HasSuffix(seg, "}") {
		return nil, bad(open, "a capture must be a whole segment, \"{name}\" (or \"{name...}\" last); %q mixes it with text", seg)
	}
	name, rest := seg[1:len(seg)-1], false
	if strings.HasSuffix(name, "...") {
		name, rest = strings.TrimSuffix(name, "..."), true
		if !last {
			return nil, bad(0, "\"{%s...}\" matches the rest of the path, so it must be the last segment", name)
		}
	}
	if err := checkCaptureName(name); err != nil {
		return nil, bad(1, "%v", err)
	}
	for _, n := range rr.names {
		if n == name {
			return nil, bad(1, "captures {%s} twice", name)
		}
	}
	rr.names = append(rr.names, name)
	if rest {
		rr.rest = len(rr.names) - 1
		return nil, nil
	}
	return &patSeg{capture: len(rr.names) - 1}, nil
}

// checkCaptureName checks a capture's name: a letter or "_", then letters, digits or "_".
func checkCaptureName(name string) error {
	if name == "" || len(name) > maxCaptureName {
		return fmt.Errorf("a capture's name is 1 to %d letters, digits or \"_\"; got %q", maxCaptureName, name)
	}
	for i, c := range name {
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("capture name %q: letters, digits and \"_\" only, not beginning with a digit", name)
		}
	}
	return nil
}

// parseTo compiles the target s.
func (rr *RewriteRule) parseTo(s string) error {
	if err := checkText("to", s, MaxRewriteTo); err != nil {
		return err
	}
	p, q, hasQuery := strings.Cut(s, "?")
	var err error
	if rr.path, err = rr.parseTmpl(p, 0); err != nil {
		return err
	}
	for i := range rr.path {
		if rr.path[i].capture < 0 {
			if rr.path[i].lit, err = unescapeLiteral(rr.path[i].lit); err != nil {
				return &RewriteError{Field: "to", Offset: 0, Msg: err.Error()}
			}
		}
	}
	rr.hasQuery = hasQuery
	if !hasQuery {
		return nil
	}
	if rr.query, err = rr.parseTmpl(q, len(p)+1); err != nil {
		return err
	}
	return rr.parseKeys(q, len(p)+1)
}

// parseKeys records the query parameter names of the target's query q (at byte offset
// off), which must be literal.
func (rr *RewriteRule) parseKeys(q string, off int) error {
	for _, kv := range strings.Split(q, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "{}") {
			return &RewriteError{Field: "to", Offset: off, Msg: fmt.Sprintf("query parameter name %q holds a capture; captures may only be in values", k)}
		}
		if k != "" {
			uk, err := url.QueryUnescape(k)
			if err != nil {
				return &RewriteError{Field: "to", Offset: off, Msg: fmt.Sprintf("query parameter name %q is not properly escaped", k)}
			}
			rr.setKeys = append(rr.setKeys, uk)
		}
		off += len(kv) + 1
	}
	return nil
}

// parseTmpl compiles s, a part of the target at byte offset off, into literals and
// captures of the pattern.
func (rr *RewriteRule) parseTmpl(s string, off int) ([]tmplPart, error) {
	bad := func(o int, format string, args ...any) error {
		return &RewriteError{Field: "to", Offset: off + o, Msg: fmt.Sprintf(format, args...)}
	}
	var parts []tmplPart
	for i := 0; i < len(s); {
		open := strings.IndexAny(s[i:], "{}")
		if open < 0 {
			parts = append(parts, tmplPart{lit: s[i:], capture: -1})
			break
		}
		open += i
		if s[open] == '}' {
			return nil, bad(open, "has a \"}\" without \"{\"")
		}
		if open > i {
			parts = append(parts, tmplPart{lit: s[i:open], capture: -1})
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			return nil, bad(open, "has a \"{\" without \"}\"")
		}
		name := s[open+1 : open+end]
		n := rr.captureIndex(name)
		if n < 0 {
			hint := "it has none"
			if len(rr.names) > 0 {
				hint = "it has {" + strings.Join(rr.names, "}, {") + "}"
			}
			if strings.HasSuffix(name, "...") && rr.captureIndex(strings.TrimSuffix(name, "...")) >= 0 {
				return nil, bad(open, "write {%s} without \"...\" in the target", strings.TrimSuffix(name, "..."))
			}
			return nil, bad(open, "uses {%s}, which the pattern does not capture (%s)", name, hint)
		}
		parts = append(parts, tmplPart{capture: n})
		i = open + end + 1
	}
	return parts, nil
}

func (rr *RewriteRule) captureIndex(name string) int {
	for i, n := range rr.names {
		if n == name {
			return i
		}
	}
	return -1
}

// unescapeLiteral decodes the percent-escapes of a path literal: patterns and targets are
// matched against, and make, decoded paths ("/caf%C3%A9" is "/café"). An escaped "/" would
// be a segment boundary no pattern can see, so it is refused.
func unescapeLiteral(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	u, err := url.PathUnescape(s)
	if err != nil {
		return "", fmt.Errorf("%q has an invalid percent-escape", s)
	}
	if strings.Count(u, "/") != strings.Count(s, "/") {
		return "", fmt.Errorf("%q escapes a \"/\" (%%2F); write the segments as they are", s)
	}
	return u, nil
}
