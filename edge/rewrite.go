package edge

import "net/http"

// rewrite applies the first of e's rewrites whose pattern matches the cleaned path p (once:
// the result is not matched again) and returns the request to route and its cleaned path:
// r and p themselves when none matches. The new path is cleaned here, so what a rewrite
// makes is what is routed and forwarded. The client's request line (access log, Location
// of later redirects by the upstream) is not changed.
func (e *siteEntry) rewrite(r *http.Request, p string) (*http.Request, string) {
	if e.pages == nil {
		return r, p
	}
	for _, rr := range e.pages.rewrites {
		np, q, ok := rr.Apply(p, r.URL.RawQuery)
		if !ok {
			continue
		}
		np = cleanPath(np)
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath, u.RawQuery, u.ForceQuery = np, "", q, false
		r2.URL = &u
		return r2, np
	}
	return r, p
}
