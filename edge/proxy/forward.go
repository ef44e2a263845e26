package proxy

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"os"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/edgectl/edge/edge/internal/reqcancel"
)

// direct reports whether r may be forwarded by Handler.forward rather than through
// httputil.ReverseProxy: a request the upstream's h1Client takes (fastPath: GET, HEAD,
// OPTIONS or TRACE, no body, no upgrade, no Expect), which ReverseProxy would send
// unchanged apart from its headers. Whatever is unusual goes through ReverseProxy, the
// reference behaviour: a Host that Request.Write would rewrite (empty, non-ASCII, an IPv6
// zone), a query ReverseProxy re-encodes, a context that never ends.
func (h *Handler) direct(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
	default:
		return false
	}
	if r.ContentLength != 0 && r.Body != nil {
		return false // ReverseProxy would send r.Body (even NoBody) through the Transport
	}
	hdr := r.Header
	if len(r.TransferEncoding) != 0 || len(r.Trailer) != 0 || hdr["Expect"] != nil ||
		upgradeType(hdr) != "" || r.URL.Opaque != "" || !plainHost(r.Host) || !plainQuery(r.URL.RawQuery) {
		return false
	}
	return reqcancel.Ends(r.Context()) // r.Context().Done() != nil, without making the channel
}

// upgradeType is ReverseProxy's: the Upgrade header when Connection lists "upgrade".
func upgradeType(h http.Header) string {
	if !httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}

// plainHost reports whether Request.Write sends host as it is: not empty, printable
// ASCII, no IPv6 zone.
func plainHost(host string) bool {
	for i := 0; i < len(host); i++ {
		if c := host[i]; c <= ' ' || c >= 0x7f || c == '%' {
			return false
		}
	}
	return host != ""
}

// queryReencoded: GODEBUG urlmaxqueryparams makes ReverseProxy re-encode every query.
var queryReencoded = strings.Contains(os.Getenv("GODEBUG"), "urlmaxqueryparams")

// plainQuery reports whether ReverseProxy forwards query q unchanged (its
// cleanQueryParams re-encodes a query with a semicolon, a malformed escape or more than
// 10,000 parameters).
func plainQuery(q string) bool {
	if q == "" {
		return true
	}
	if queryReencoded || strings.Count(q, "&") >= 10000 {
		return false
	}
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !ishex(q[i+1]) || !ishex(q[i+2]) {
				return false
			}
		}
	}
	return true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// forward proxies r (direct(r) holds) as ReverseProxy.ServeHTTP would, without its
// outbound request: the head is written from r (fwdHead), the response's headers are
// moved into w's once, its body copied with a pooled buffer.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, info *Info) {
	head := newFwdHead(h, w, r)
	head.plain = info.plainSlot()
	res, err := h.roundTrip(r, info, &head)
	if err != nil {
		h.serveError(w, r, err)
		return
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// Not asked for (no Upgrade was sent): ReverseProxy's refusal, as its 502.
		h.modifyResponse(res)
		res.Body.Close()
		h.serveError(w, r, unaskedSwitch(res.Header))
		return
	}
	if res.StatusCode >= 500 && res.StatusCode <= 599 {
		// modifyResponse may put an error page in: it sees the end-to-end headers only.
		removeHopByHop(res.Header)
		h.modifyResponse(res)
		moveHeader(w.Header(), res.Header)
	} else { // modifyResponse keeps the others as they are
		moveEndToEnd(w.Header(), res.Header)
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, len(res.Trailer))
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		w.Header().Add("Trailer", strings.Join(keys, ", "))
	} else if ho, ok := w.(headerHandOffer); ok && (res.ContentLength >= 0 || res.Body == http.NoBody) {
		// A body of known length has no trailers: nothing here uses w's header map
		// after WriteHeader, which may take it as the response's (no copy; edge's loop
		// keeps it for the connection's next response).
		ho.HandOffHeader()
	}
	w.WriteHeader(res.StatusCode)
	if err := h.copyBody(w, res, info.Batch); err != nil {
		defer res.Body.Close()
		if r.Context().Value(http.ServerContextKey) == nil {
			// ReverseProxy's shouldPanicOnCopyError: not under an http.Server.
			h.logf("suppressing panic for copyResponse error in test; copy error: %v", err)
			return
		}
		panic(http.ErrAbortHandler)
	}
	res.Body.Close() // now: the trailers arrive with the body's end
	h.sendTrailers(w, res, announced)
	recycleHeader(res.Header)
}

// headerHandOffer is a response writer that takes the header map itself as the
// response's at WriteHeader from a handler that does not use it afterwards (edge's
// responseWriter, h1 loop and HTTP/2 server).
type headerHandOffer interface{ HandOffHeader() }

// unaskedSwitch is ReverseProxy's error for a 101 answering a request that asked for no
// upgrade.
func unaskedSwitch(h http.Header) error {
	up := upgradeType(h)
	for i := 0; i < len(up); i++ {
		if up[i] < ' ' || up[i] > '~' {
			return fmt.Errorf("backend tried to switch to invalid protocol %q", up)
		}
	}
	if up != "" {
		return fmt.Errorf("backend tried to switch protocol %q when %q was requested", up, "")
	}
	return fmt.Errorf("internal error: 101 switching protocols response with non-writable body")
}

// hopHeaders are ReverseProxy's hop-by-hop headers, removed both ways.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// removeHopByHop is ReverseProxy's removeHopByHopHeaders: the headers Connection lists,
// then the hop-by-hop ones.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, f := range hopHeaders {
		delete(h, f)
	}
}

// moveHeader adds src's values to dst, as ReverseProxy's copyHeader, sharing src's value
// slices (src is not used afterwards; the slices are clipped, so an append to dst's copies
// never writes into them).
func moveHeader(dst, src http.Header) {
	for k, vv := range src {
		if len(vv) == 0 {
			continue
		}
		addShared(dst, k, vv)
	}
}

// addShared adds vv to dst under k's canonical form, sharing vv clipped (an append to
// dst's copy never writes into it).
func addShared(dst http.Header, k string, vv []string) {
	k = http.CanonicalHeaderKey(k)
	if old, ok := dst[k]; ok {
		dst[k] = append(old, vv...)
	} else {
		dst[k] = vv[:len(vv):len(vv)]
	}
}

// moveEndToEnd is removeHopByHop(src) then moveHeader(dst, src) in one pass over src:
// a hop-by-hop header, or one the Connection header lists, is deleted from src as it is
// met, the others are moved.
func moveEndToEnd(dst, src http.Header) {
	conn := src["Connection"]
	for k, vv := range src {
		if isHopHeader(k) || connectionListsKey(conn, k) {
			delete(src, k)
			continue
		}
		if len(vv) == 0 {
			continue
		}
		addShared(dst, k, vv)
	}
}

// isHopHeader reports whether k is one of hopHeaders.
func isHopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// connectionListsKey reports whether removeHopByHop's h.Del of the tokens of the
// Connection values conn deletes key k (tokens trimmed as textproto.TrimString does).
func connectionListsKey(conn []string, k string) bool {
	for _, v := range conn {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = textproto.TrimString(tok); tok != "" && canonicalIs(tok, k) {
				return true
			}
		}
	}
	return false
}

// got1xx passes an informational response on to the client, as ReverseProxy's
// Got1xxResponse hook.
func (f *fwdHead) got1xx(code int, header http.Header) {
	h := f.w.Header()
	for k, vv := range header {
		for _, v := range vv {
			h.Add(k, v)
		}
	}
	f.w.WriteHeader(code)
	clear(h) // WriteHeader does not clear them after a 1xx
}

// copyBody copies the response body to w with a pooled buffer, flushing after every write
// (and the headers at once) for event streams and responses of unknown length, as
// ReverseProxy with FlushInterval 0. Other bodies of at least minBatchBody bytes are
// written in batches through batch (nil: none): what was read is batched, and the batch
// ends before a read that waits for the upstream (bodyCopy.read: not when the next bytes
// are there already). Before such a read, what was written is flushed too (beforeWait): a
// body of known length that comes slowly reaches the client as it comes, instead of
// waiting in the server's buffers for the next bytes.
func (h *Handler) copyBody(w http.ResponseWriter, res *http.Response, batch Batcher) error {
	bc := bodyCopy{w: w, dst: w, bb: bodyBatch{b: batch}}
	if eventStream(res.Header.Get("Content-Type")) || res.ContentLength == -1 {
		bc.fw = &flushWriter{w: w, rc: http.NewResponseController(w)}
		bc.dst = bc.fw
	}
	if bc.fw != nil || res.ContentLength < minBatchBody {
		bc.bb.b = nil
	}
	defer bc.bb.abort()
	buf := copyBuffers.Get()
	defer copyBuffers.Put(buf)
	for {
		nr, rerr, ferr := bc.read(res.Body, buf)
		if ferr != nil {
			return ferr
		}
		if rerr != nil && rerr != io.EOF && rerr != context.Canceled {
			h.logf("httputil: ReverseProxy read error during body copy: %v", rerr)
		}
		if nr > 0 {
			bc.bb.beforeWrite()
			nw, werr := bc.dst.Write(buf[:nr])
			if werr != nil {
				return werr
			}
			if nr != nw {
				return io.ErrShortWrite
			}
			bc.held = bc.fw == nil
		}
		if rerr != nil {
			if rerr == io.EOF {
				bc.bb.on = false // the server ends the batch with the response
				return nil
			}
			return rerr
		}
	}
}

// read reads the body's next bytes into buf. Before a read that may wait for the
// upstream, what was written is flushed and the batch ended (beforeWait), unless the
// upstream's next bytes are there already (tryBody): a body that comes at once leaves in
// one batch, whatever the number of reads it takes. ferr is the flush's write error.
func (bc *bodyCopy) read(body io.Reader, buf []byte) (n int, rerr, ferr error) {
	if !bodyReady(body) {
		if bc.held || bc.bb.on {
			if n, rerr = tryBody(body, buf); n > 0 || rerr != nil {
				return n, rerr, nil
			}
		}
		if ferr = bc.beforeWait(); ferr != nil {
			return 0, nil, ferr
		}
	}
	n, rerr = body.Read(buf)
	return n, rerr, nil
}

// bodyCopy is copyBody's state.
type bodyCopy struct {
	w    http.ResponseWriter
	dst  io.Writer    // w, or fw
	fw   *flushWriter // nil: not flushed after every write
	bb   bodyBatch
	held bool // body bytes were written to w since the last flush
}

// beforeWait prepares a read that may wait for the upstream: the body bytes written since
// the last flush (and, for a streamed body, the headers: ReverseProxy flushes them from a
// timer) are flushed, and the batch ends, so that nothing that came waits with the read.
// It returns the batch's write error.
func (bc *bodyCopy) beforeWait() error {
	switch {
	case bc.fw != nil && !bc.fw.wrote:
		bc.fw.rc.Flush()
		bc.fw.wrote = true
	case bc.held:
		http.NewResponseController(bc.w).Flush()
		bc.held = false
	}
	return bc.bb.beforeWait()
}

// eventStream reports whether content type ct is text/event-stream as ReverseProxy's
// flushInterval tells (mime.ParseMediaType, called only when it may be).
func eventStream(ct string) bool {
	base, _, _ := strings.Cut(ct, ";")
	if !strings.EqualFold(strings.TrimSpace(base), "text/event-stream") {
		return false
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "text/event-stream"
}

// flushWriter flushes after every write.
type flushWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	wrote bool // the headers are flushed
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	f.rc.Flush()
	f.wrote = true
	return n, err
}

// bodyReady reports whether reading body would not wait for the upstream: its next
// bytes (or its end) are buffered, or it is not an upstream connection's.
func bodyReady(body io.Reader) bool {
	switch b := body.(type) {
	case *upstreamBody:
		return bodyReady(b.ReadCloser)
	case *h1Body:
		return b.done || b.pc.br.Buffered() > 0
	}
	return true
}

// sendTrailers passes the response's trailers on, as ReverseProxy does: announced ones
// (Trailer header) as such, others with http.TrailerPrefix; with any, the response is
// flushed first so that it is chunked.
func (h *Handler) sendTrailers(w http.ResponseWriter, res *http.Response, announced int) {
	if len(res.Trailer) == 0 {
		return
	}
	http.NewResponseController(w).Flush()
	if len(res.Trailer) == announced {
		for k, vv := range res.Trailer {
			for _, v := range vv {
				w.Header().Add(k, v)
			}
		}
		return
	}
	for k, vv := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			w.Header().Add(k, v)
		}
	}
}

// logf logs as ReverseProxy's ErrorLog.
func (h *Handler) logf(format string, args ...any) {
	if h.m.errLog != nil {
		h.m.errLog.Printf(format, args...)
	}
}
