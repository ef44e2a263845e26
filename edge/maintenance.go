package edge

import "net/http"

// maintenance answers r with 503, the site's maintenance page and Retry-After when e's
// site is switched into maintenance, and reports whether it did. It comes after the site's
// IP rules and rate limits, before anything else of the site (forbidden paths, redirects,
// rewrites, routes): every route is closed.
func (e *siteEntry) maintenance(w http.ResponseWriter, r *http.Request) bool {
	if e.pages == nil || !e.pages.maintOn {
		return false
	}
	w.Header().Set("Retry-After", e.pages.retryAfter)
	writeStatusPage(w, r, e.pages.maint, http.StatusServiceUnavailable)
	return true
}
