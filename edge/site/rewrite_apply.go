package site

import (
	"net/url"
	"strings"
)

// Apply rewrites the cleaned request path p (beginning with "/") and the raw query: it
// returns the new path (not yet cleaned) and raw query, and false when the pattern does
// not match p (then nothing is allocated).
func (rr *RewriteRule) Apply(p, rawQuery string) (path, query string, ok bool) {
	var caps [MaxRewriteCaptures]string
	if !rr.match(p, &caps) {
		return "", "", false
	}
	return rr.buildPath(&caps), rr.buildQuery(&caps, rawQuery), true
}

// match matches p against the pattern, filling caps.
func (rr *RewriteRule) match(p string, caps *[MaxRewriteCaptures]string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	pos, done := 1, false
	for _, seg := range rr.from {
		if done {
			return false
		}
		var cur string
		if j := strings.IndexByte(p[pos:], '/'); j < 0 {
			cur, done = p[pos:], true
		} else {
			cur, pos = p[pos:pos+j], pos+j+1
		}
		if seg.capture < 0 {
			if cur != seg.lit {
				return false
			}
			continue
		}
		if cur == "" {
			return false
		}
		caps[seg.capture] = cur
	}
	if rr.rest >= 0 {
		if !done {
			caps[rr.rest] = p[pos:]
		}
		return true
	}
	return done
}

// buildPath returns the target's path with the captures filled in.
func (rr *RewriteRule) buildPath(caps *[MaxRewriteCaptures]string) string {
	if len(rr.path) == 1 && rr.path[0].capture < 0 {
		return rr.path[0].lit
	}
	var b strings.Builder
	for _, part := range rr.path {
		if part.capture < 0 {
			b.WriteString(part.lit)
		} else {
			b.WriteString(caps[part.capture])
		}
	}
	return b.String()
}

// buildQuery returns the target's query with the captures filled in (query-escaped),
// merged with the request's raw query (see Rewrite).
func (rr *RewriteRule) buildQuery(caps *[MaxRewriteCaptures]string, rawQuery string) string {
	if !rr.hasQuery {
		return rawQuery
	}
	if len(rr.query) == 0 {
		return ""
	}
	var b strings.Builder
	for _, part := range rr.query {
		if part.capture < 0 {
			b.WriteString(part.lit)
		} else {
			b.WriteString(url.QueryEscape(caps[part.capture]))
		}
	}
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = strings.Cut(rawQuery, "&")
		if kv == "" || rr.sets(kv) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(kv)
	}
	return b.String()
}

// sets reports whether the target's query sets the parameter of the request's "k=v".
func (rr *RewriteRule) sets(kv string) bool {
	k, _, _ := strings.Cut(kv, "=")
	if uk, err := url.QueryUnescape(k); err == nil {
		k = uk
	}
	for _, s := range rr.setKeys {
		if s == k {
			return true
		}
	}
	return false
}

// Sample returns a path the rewrite makes (not cleaned): its target's path with every
// capture "x". The schema uses it to find chains of rewrites.
func (rr *RewriteRule) Sample() string {
	var caps [MaxRewriteCaptures]string
	for i := range rr.names {
		caps[i] = "x"
	}
	return rr.buildPath(&caps)
}
