// Package target recognizes request targets that url.ParseRequestURI takes as they are,
// so that a server loop can fill a request's URL without parsing it: edge's HTTP/1.1
// loop and its HTTP/3 server share it.
package target

import "net/url"

// Simple reports whether t is an origin-form target that url.ParseRequestURI takes as it
// is: a path of characters its escaping leaves alone (so Path is t's path and RawPath
// empty) and, after a '?', a non-empty query without '?', ';', '%' or '#'.
func Simple[T string | []byte](t T) bool {
	if len(t) == 0 || t[0] != '/' || t[len(t)-1] == '?' {
		return false
	}
	query := false
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '?' && !query:
			query = true
		case isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' ||
			c == '$' || c == '&' || c == '+' || c == ',' || c == ':' || c == '=' || c == '@':
		case c == ';' && !query:
		default:
			return false
		}
	}
	return true
}

// URL is url.ParseRequestURI's result for a Simple target.
func URL(t string) url.URL {
	for i := 0; i < len(t); i++ {
		if t[i] == '?' {
			return url.URL{Path: t[:i], RawQuery: t[i+1:]}
		}
	}
	return url.URL{Path: t}
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
