package edge

import "strings"

// Forbidden path patterns (site.Site.ForbiddenPaths) are matched against the request's
// cleaned, percent-decoded path (dot segments resolved, so "/a/../.git/config" and
// "/%2egit/config" are "/.git/config"), ignoring ASCII case (an upstream on a
// case-insensitive file system serves "/.GIT/config" too). In a pattern, "*" stands for
// any run of characters, "/" included; every other character is itself. A pattern ending
// in "/*" also matches the path without it: "/.git/*" forbids "/.git" and everything
// under it; "*.bak" forbids any path ending in ".bak". A match is answered 404, as if
// there were nothing there, without reaching any route.

// pathPattern is one forbidden pattern split at its stars: the path must start with the
// first part, end with the last and hold the others, in order, in between.
type pathPattern struct {
	parts []string // lower case; len 1: no star, an exact path
}

// pathPatterns are a site's forbidden patterns.
type pathPatterns []pathPattern

// newPathPatterns prepares patterns (checked by the schema), or returns nil for none.
func newPathPatterns(patterns []string) pathPatterns {
	var out pathPatterns
	for _, p := range patterns {
		p = lowerASCII(p)
		out = append(out, pathPattern{parts: strings.Split(p, "*")})
		if dir, ok := strings.CutSuffix(p, "/*"); ok && dir != "" && !strings.HasSuffix(dir, "*") {
			out = append(out, pathPattern{parts: strings.Split(dir, "*")})
		}
	}
	return out
}

// match reports whether the cleaned path p matches one of the patterns.
func (ps pathPatterns) match(p string) bool {
	if len(ps) == 0 {
		return false
	}
	p = lowerASCII(p)
	for i := range ps {
		if ps[i].match(p) {
			return true
		}
	}
	return false
}

// match reports whether the lower-case path p matches: greedy, leftmost, which is exact
// for patterns whose only wildcard is "*"; linear in len(p) per part.
func (pp *pathPattern) match(p string) bool {
	parts := pp.parts
	if len(parts) == 1 {
		return p == parts[0]
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(p) < len(first)+len(last) || !strings.HasPrefix(p, first) || !strings.HasSuffix(p, last) {
		return false
	}
	mid := p[len(first) : len(p)-len(last)]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(mid, part)
		if i < 0 {
			return false
		}
		mid = mid[i+len(part):]
	}
	return true
}

// lowerASCII returns s with ASCII letters in lower case, allocating only if one is not.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
