package edge

import (
	"io"
	"net/http"
	"time"
)

// serveHTTP3 is the HTTP/3 server's handler: serveTLS on a worker of h3Workers (see
// http3workers.go), with the request's context an h3ReqCtx (http3ctx.go) and a request
// whose body is already known to be empty marked so (see emptyBodyKnown). The request is
// copied once, for the context; the worker marks the copy.
func (s *Server) serveHTTP3(w http.ResponseWriter, r *http.Request) {
	h3Workers.serve((*h3Handler)(s), w, r.WithContext(&h3ReqCtx{Context: r.Context()}))
}

// h3Handler is the Server as the handler a worker runs (a pointer: no allocation to
// make it an http.Handler).
type h3Handler Server

// ServeHTTP is serveTLS, with a request whose body is known to be empty marked so: r is
// the server's own copy (serveHTTP3), marked in place.
func (h *h3Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	markEmptyBody(w, r)
	(*Server)(h).serveTLS(w, r)
}

// readDeadliner is the read deadline of an HTTP/3 response writer's request stream.
type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// expiredDeadline is a read deadline long past: a read of the request stream then returns
// at once, io.EOF if the client has ended the stream, a timeout otherwise.
var expiredDeadline = time.Unix(1, 0)

// emptyBodyKnown returns r with ContentLength 0 if its body is known to be empty when the
// handler starts, and r itself otherwise. An HTTP/3 request without Content-Length has
// ContentLength -1 (unknown) even when the client ended the stream with its HEADERS
// frame, which every bodiless request does; HTTP/2 says 0 for a request whose HEADERS
// ended the stream. With -1 the proxy cannot forward it directly (proxy.Handler takes
// httputil.ReverseProxy, whose Transport probes the body with a goroutine and a timer),
// so it costs an HTTP/3 GET about twice what it costs an HTTP/2 one. The check is one
// read with an expired deadline: quic-go returns no data then, only io.EOF (stream
// ended: the body is empty) or a timeout (not known yet: r is left as it is), so no
// byte of a body is consumed; should a byte come all the same, it is put back.
func emptyBodyKnown(w http.ResponseWriter, r *http.Request) *http.Request {
	empty, unread := probeBody(w, r)
	if !empty && unread == nil {
		return r
	}
	r2 := *r
	markBody(&r2, empty, unread)
	return &r2
}

// markEmptyBody is emptyBodyKnown changing r itself (a copy of the server's request).
func markEmptyBody(w http.ResponseWriter, r *http.Request) {
	empty, unread := probeBody(w, r)
	markBody(r, empty, unread)
}

// markBody sets r's ContentLength to 0 if its body is empty, or its Body to unread if a
// byte of it was read.
func markBody(r *http.Request, empty bool, unread *unreadBody) {
	switch {
	case empty:
		r.ContentLength = 0
	case unread != nil:
		r.Body = unread
	}
}

// probeBody reads r's body with an expired read deadline (emptyBodyKnown): empty if the
// stream had ended, or the body with the byte read given back if one came.
func probeBody(w http.ResponseWriter, r *http.Request) (empty bool, unread *unreadBody) {
	if r.ContentLength != -1 || r.Body == nil || r.Body == http.NoBody {
		return false, nil
	}
	d, ok := w.(readDeadliner)
	if !ok || d.SetReadDeadline(expiredDeadline) != nil {
		return false, nil
	}
	var b [1]byte
	n, err := r.Body.Read(b[:])
	d.SetReadDeadline(time.Time{})
	switch {
	case n > 0:
		return false, &unreadBody{ReadCloser: r.Body, b: b[0], unread: true}
	case err == io.EOF:
		return true, nil
	}
	return false, nil
}

// unreadBody is a request body with its first byte read already and given back.
type unreadBody struct {
	io.ReadCloser
	b      byte
	unread bool
}

// Read returns the byte read already, then the rest of the body.
func (u *unreadBody) Read(p []byte) (int, error) {
	if !u.unread {
		return u.ReadCloser.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	u.unread = false
	p[0] = u.b
	return 1, nil
}
