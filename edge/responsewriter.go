package edge

import (
	"bufio"
	"net"
	"net/http"
)

// responseWriter records the status and size of a response for logs and metrics and
// applies the site's header changes just before the final status goes out. It keeps the
// wrapped writer reachable (Unwrap, FlushError, Hijack) so streaming, SSE and WebSocket
// upgrades work through it.
type responseWriter struct {
	http.ResponseWriter
	headers  *headerOps // nil: no changes
	status   int        // final status written; 0 if none yet
	bytes    int64
	hijacked bool
	infos    int // informational (1xx) responses passed on
}

// maxInformational bounds the informational responses (103 Early Hints, 100 Continue...)
// passed on to the client per request; an upstream sending more (a flood, bounded in time
// only by the response timeout) has the rest dropped.
const maxInformational = 8

// WriteHeader applies the header changes on the final status. Informational statuses
// (1xx but 101) pass through untouched and may be followed by another.
func (w *responseWriter) WriteHeader(code int) {
	if w.status != 0 || w.hijacked {
		return // superfluous: keep the first, as net/http does
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if w.infos < maxInformational {
			w.infos++
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	w.status = code
	if w.headers != nil {
		w.headers.apply(w.ResponseWriter.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes body bytes, sending a 200 status first if none was.
func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// FlushError flushes buffered data to the client, for http.ResponseController.
func (w *responseWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// Hijack takes over the connection (HTTP/1.1 upgrades); the response counts as 101.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
		if w.status == 0 {
			w.status = http.StatusSwitchingProtocols
		}
	}
	return c, rw, err
}

// headerHandOffer is a response writer that can take the header map itself as the
// response's headers at WriteHeader, rather than a copy, from a handler that will not
// use the map again (edge's HTTP/2 server: h2srv's HandOffHeader).
type headerHandOffer interface {
	HandOffHeader()
}

// HandOffHeader passes a handler's promise not to use the header map after WriteHeader
// on to the server's writer (headerHandOffer): w itself only changes the map before.
func (w *responseWriter) HandOffHeader() {
	if ho, ok := w.ResponseWriter.(headerHandOffer); ok {
		ho.HandOffHeader()
	}
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish sends the status if the handler wrote nothing, so the header changes apply to
// empty responses too, and returns the status sent.
func (w *responseWriter) finish() int {
	if w.status == 0 && !w.hijacked {
		w.WriteHeader(http.StatusOK)
	}
	return w.status
}
