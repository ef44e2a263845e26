package edge

import (
	"net/http"
	"strings"
)

// corsWriter sets the CORS headers of an actual (not preflight) response when its status
// goes out, replacing any the upstream sent, and adds Vary: Origin.
type corsWriter struct {
	http.ResponseWriter
	c      *corsHandler
	origin string // the request's origin if allowed, else ""
	done   bool
}

// WriteHeader sets the headers on the final status; informational statuses pass.
func (w *corsWriter) WriteHeader(code int) {
	if !w.done && (code < 100 || code >= 200 || code == http.StatusSwitchingProtocols) {
		w.done = true
		h := w.ResponseWriter.Header()
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-") {
				delete(h, k)
			}
		}
		addVary(h, "Origin")
		if w.origin != "" {
			w.c.allowOrigin(h, w.origin)
			if w.c.expose != "" {
				h["Access-Control-Expose-Headers"] = []string{w.c.expose}
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes body bytes, sending a 200 status first if none was.
func (w *corsWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// FlushError flushes, for http.ResponseController.
func (w *corsWriter) FlushError() error {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *corsWriter) Flush() { _ = w.FlushError() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *corsWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
