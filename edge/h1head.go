package edge

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/edgectl/edge/edge/internal/httpdate"
	"golang.org/x/net/http/httpguts"
)

// h1Extra are the headers writeHead adds (net/http's extraHeader).
type h1Extra struct {
	contentType, connection, transferEncoding string
	date, contentLength                       []byte
}

// writeHead writes the status line and header to the connection's buffer; p is the first
// chunk of the body (sniffed for a Content-Type, and its length is the Content-Length when
// the handler is done). It is net/http's chunkWriter.writeHeader for an HTTP/1.1 request
// without a body or with a Content-Length (h1conn.go hands the others to net/http).
func (w *h1Response) writeHead(p []byte) {
	w.headSent = true
	isHEAD := w.req.Method == http.MethodHead
	header := w.snap
	owned := header != nil
	if !owned {
		header = w.header
	}
	var exclude map[string]bool
	del := func(key string) {
		if owned {
			header.Del(key)
			return
		}
		if _, ok := header[key]; !ok {
			return
		}
		if exclude == nil {
			exclude = make(map[string]bool)
		}
		exclude[key] = true
	}
	var set h1Extra
	trailers := false
	// The names to write, in the pass over the map that finds the trailers announced
	// with http.TrailerPrefix (never written in the header).
	keys := w.c.hdrKeys[:0]
	for k := range w.snap {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			trailers = true
			continue
		}
		keys = append(keys, k)
	}
	for _, v := range w.snap["Trailer"] {
		trailers = true
		foreachHeaderElement(v, w.declareTrailer)
	}
	te := headerGet(header, "Transfer-Encoding")
	hasTE := te != ""
	if w.handlerDone && !trailers && !hasTE && bodyAllowedForStatus(w.status) && headerGet(header, "Content-Length") == "" && (!isHEAD || len(p) > 0) {
		w.clen = int64(len(p))
		set.contentLength = strconv.AppendInt(w.clenBuf[:0], int64(len(p)), 10)
	}
	hasCL := w.clen != -1
	keepAlives := !w.c.srv.closing.Load()
	if headerGet(header, "Connection") == "close" || !keepAlives {
		w.closeAfter = true
	}
	if w.req.ContentLength != 0 && w.body != nil && !w.closeAfter && !w.fullDuplex && w.discardBeforeHead() {
		del("Connection")
		set.connection = "close"
	}
	w.headBodyRules(header, &set, del, p, hasTE, te, &hasCL)
	if w.chunking {
		del("Content-Length")
	}
	if w.closeAfter && (!keepAlives || !hasWord(headerGet(w.snap, "Connection"), "close")) && !isProtocolSwitch(w.status, header) {
		del("Connection")
		set.connection = "close"
	}
	bw := w.c.bw
	writeStatusLine(bw, w.status)
	w.c.hdrKeys = writeHeaderKeys(bw, w.snap, exclude, keys)
	set.write(w, bw)
	bw.WriteString("\r\n")
}

// headBodyRules decides the Content-Type, Date and framing of the body (net/http's
// writeHeader from sniffing to chunking).
func (w *h1Response) headBodyRules(header http.Header, set *h1Extra, del func(string), p []byte, hasTE bool, te string, hasCL *bool) {
	code := w.status
	if bodyAllowedForStatus(code) {
		_, haveType := header["Content-Type"]
		if headerGet(header, "Content-Encoding") == "" && !haveType && !hasTE && len(p) > 0 {
			set.contentType = http.DetectContentType(p)
		}
	} else {
		for _, k := range suppressedHeaders(code) {
			del(k)
		}
	}
	if _, ok := header["Date"]; !ok {
		set.date = httpdate.Bytes()
	}
	if *hasCL && hasTE && te != "identity" {
		w.c.logf("http: WriteHeader called with both Transfer-Encoding of %q and a Content-Length of %d", te, w.clen)
		del("Content-Length")
		*hasCL = false
	}
	switch {
	case w.req.Method == http.MethodHead || !bodyAllowedForStatus(code):
		del("Transfer-Encoding")
	case *hasCL:
		del("Transfer-Encoding")
	case hasTE && te == "identity":
		w.chunking = false
		w.closeAfter = true
		del("Transfer-Encoding")
	default:
		w.chunking = true
		set.transferEncoding = "chunked"
		if hasTE && te == "chunked" {
			del("Transfer-Encoding")
		}
	}
}

// write writes the extra headers in net/http's order.
func (h *h1Extra) write(w *h1Response, bw interface {
	Write([]byte) (int, error)
	WriteString(string) (int, error)
}) {
	if h.date != nil {
		bw.WriteString("Date: ")
		bw.Write(h.date)
		bw.WriteString("\r\n")
	}
	if h.contentLength != nil {
		bw.WriteString("Content-Length: ")
		bw.Write(h.contentLength)
		bw.WriteString("\r\n")
	}
	for i, v := range [...]string{h.contentType, h.connection, h.transferEncoding} {
		if v != "" {
			bw.WriteString([...]string{"Content-Type: ", "Connection: ", "Transfer-Encoding: "}[i])
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
}

var (
	suppressed304    = []string{"Content-Type", "Content-Length", "Transfer-Encoding"}
	suppressedNoBody = []string{"Content-Length", "Transfer-Encoding"}
)

func suppressedHeaders(status int) []string {
	switch {
	case status == 304:
		return suppressed304
	case !bodyAllowedForStatus(status):
		return suppressedNoBody
	}
	return nil
}

func isProtocolSwitch(code int, h http.Header) bool {
	return code == http.StatusSwitchingProtocols && headerGet(h, "Upgrade") != "" &&
		httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade")
}

// foreachHeaderElement calls fn for each non-empty element of the list v.
func foreachHeaderElement(v string, fn func(string)) {
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.Trim(f, " \t\r\n"); f != "" {
			fn(f)
		}
	}
}

// hasWord reports whether token is in v as a whole word, case-insensitively
// (net/http's).
func hasWord(v, token string) bool {
	if len(token) > len(v) || token == "" {
		return false
	}
	if v == token {
		return true
	}
	for sp := 0; sp <= len(v)-len(token); sp++ {
		if b := v[sp]; b != token[0] && b|0x20 != token[0] {
			continue
		}
		if sp > 0 && !isTokenBoundary(v[sp-1]) {
			continue
		}
		if end := sp + len(token); end != len(v) && !isTokenBoundary(v[end]) {
			continue
		}
		if strings.EqualFold(v[sp:sp+len(token)], token) {
			return true
		}
	}
	return false
}

func isTokenBoundary(b byte) bool { return b == ' ' || b == ',' || b == '\t' }
