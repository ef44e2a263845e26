package edge

import (
	"net/http"

	"github.com/edgectl/edge/edge/proxy"
	"github.com/edgectl/edge/edge/site"
)

// errorPagesHandler hands a route's requests to next with the site's error pages attached
// for the proxy (proxy.SetErrorWriter): its own 502/503/504 and, when the site asks, the
// upstream's 5xx get the site's pages.
type errorPagesHandler struct {
	next  http.Handler
	pages pageWriter
}

// withErrorPages wraps next in an errorPagesHandler when s has error pages, else returns
// next itself.
func withErrorPages(s *Site, next http.Handler) http.Handler {
	if s.ErrorPages == nil {
		return next
	}
	return &errorPagesHandler{next: next, pages: pageWriter{s.ErrorPages}}
}

func (h *errorPagesHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	proxy.SetErrorWriter(r.Context(), h.pages)
	h.next.ServeHTTP(w, r)
}

// Unwrap returns the wrapped handler (see unwrapHandler).
func (h *errorPagesHandler) Unwrap() http.Handler { return h.next }

// pageWriter is a site's error pages as the proxy's ErrorWriter.
type pageWriter struct{ pages *site.ErrorPages }

// WriteError answers with the site's page for status, or plain text.
func (p pageWriter) WriteError(w http.ResponseWriter, r *http.Request, status int) {
	writeStatusPage(w, r, p.pages.Page(status), status)
}

// UpstreamPage returns the site's page for an upstream's 5xx when the site asks for it.
func (p pageWriter) UpstreamPage(status int) (string, []byte, bool) {
	if !p.pages.Upstream || status < 500 {
		return "", nil, false
	}
	pg := p.pages.Page(status)
	if pg == nil {
		return "", nil, false
	}
	return pg.ContentType, pg.Body, true
}
