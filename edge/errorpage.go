package edge

import (
	"net/http"
	"strconv"

	"github.com/edgectl/edge/edge/site"
)

// writeError answers r with a response the edge makes itself (404, 405, 421, 429, 503, ...):
// every such response of the HTTPS listener goes through here, so a site's error pages
// apply to all of them. e is the site that answers, or nil when none does (no snapshot,
// unknown host): then a plain-text body is sent, as it is when the site has no page for
// status (see site.ErrorPages.Page for the lookup: the status's page, else its class's).
func writeError(w http.ResponseWriter, r *http.Request, e *siteEntry, status int) {
	var pg *site.Page
	if e != nil && e.pages != nil {
		pg = e.pages.errors.Page(status)
	}
	writeStatusPage(w, r, pg, status)
}

// writeStatusPage answers r with status and the page pg, or with "<code> <text>\n" as plain
// text when pg is nil. A page goes with its Content-Type and Content-Length, not to be
// cached (the page of an error is not the resource's), and without its body to a HEAD.
func writeStatusPage(w http.ResponseWriter, r *http.Request, pg *site.Page, status int) {
	if pg == nil {
		http.Error(w, strconv.Itoa(status)+" "+http.StatusText(status), status)
		return
	}
	h := w.Header()
	for _, k := range pageDroppedHeaders {
		h.Del(k)
	}
	h.Set("Content-Type", pg.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(pg.Body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(pg.Body)
	}
}

// pageDroppedHeaders describe a body other than the page's: an error page never carries
// them (set by an upstream or by a handler before it failed).
var pageDroppedHeaders = []string{"Content-Encoding", "Content-Range", "ETag", "Last-Modified", "Content-Disposition", "Trailer", "Transfer-Encoding"}

// connSite returns the site whose certificate r's connection got (its SNI's site, else
// the default site), or nil: the site whose page answers a 421, as the Host's own site is
// unknown or not this connection's. A passthrough site has no pages (nil).
func (s *Snapshot) connSite(r *http.Request) *siteEntry {
	if s == nil {
		return nil
	}
	var h *hostEntry
	if r.TLS != nil {
		h = s.lookup(normalizeName(r.TLS.ServerName))
	}
	if h == nil {
		h = s.def
	}
	if h == nil || h.site.pool != nil {
		return nil
	}
	return h.site
}
