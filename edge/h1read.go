package edge

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// readRequest reads the next request's header, within ReadHeaderTimeout. It returns the
// request to serve; or nil and the bytes to replay when net/http's server must serve the
// rest of the connection (handOff); or nil, nil to close (the client left or timed out,
// which net/http ends silently too).
func (c *h1Conn) readRequest() (*http.Request, *[]byte) {
	hs := c.srv.hs
	// The clock is read only for the deadlines that start here: the header's, when a read
	// is made for it (else its deadline is moot), and ReadTimeout's.
	buffered := c.headBuffered()
	var t0 time.Time
	if !buffered || hs.ReadTimeout > 0 {
		t0 = time.Now()
	}
	if !buffered {
		var hdr time.Time
		if d := c.srv.readHeaderTimeout(); d > 0 {
			hdr = t0.Add(d)
		}
		c.tc.SetReadDeadline(hdr)
	}
	if c.lastPOST { // RFC 7230 section 3.5 tolerance for old clients, as net/http
		peek, _ := c.br.Peek(4)
		c.br.Discard(leadingCRLF(peek))
	}
	if !c.waitHead() {
		if isTimeout(c.readErr) || (c.readErr == io.EOF && c.br.Buffered() == 0) {
			return nil, nil
		}
		return nil, c.replay()
	}
	if !c.st.CompareAndSwap(connIdle, connActive) && !c.st.CompareAndSwap(connNew, connActive) {
		return nil, nil // closed by Shutdown meanwhile
	}
	pending, _ := c.br.Peek(c.br.Buffered()) // intact until the next read from the socket
	req, simple, err := c.readHead(pending)
	serve := err == nil && (simple && simpleServable(req) || !simple && c.servable(req, pending))
	if !serve {
		c.next = nil
		return nil, c.replayOf(pending)
	}
	if req.ContentLength > 0 {
		req.Body = &h1Body{c: c, rc: req.Body, remain: req.ContentLength, closing: req.Close}
	}
	c.lastPOST = req.Method == http.MethodPost
	// net/http now sets the read deadline to ReadTimeout's (none if zero). Without
	// ReadTimeout the header's deadline (or the idle one, when the header came whole
	// with the first bytes) is left: nothing reads until the next request's deadline is
	// set, but the background read, which clears it (h1bgread.go).
	if d := hs.ReadTimeout; d > 0 {
		c.tc.SetReadDeadline(t0.Add(d))
	} else if req.ContentLength > 0 { // the body is read without a deadline
		c.tc.SetReadDeadline(time.Time{})
	}
	if d := hs.WriteTimeout; d > 0 {
		c.tc.SetWriteDeadline(time.Now().Add(d))
	}
	return req, nil
}

// readHead reads the request header at the start of pending, all that is buffered:
// parseSimpleHead's request when it takes it (simple), else http.ReadRequest's.
func (c *h1Conn) readHead(pending []byte) (req *http.Request, simple bool, err error) {
	if !slowH1Heads.Load() {
		if end := headerEnd(pending); end > 0 {
			c.next = new(h1Exchange) // the response's too (newH1Response), taken or not
			if req := parseSimpleHeadInto(pending[:end], &c.next.sr); req != nil {
				c.br.Discard(end)
				return req, true, nil
			}
		}
	}
	req, err = http.ReadRequest(c.br)
	return req, false, err
}

// simpleServable is servable for a request parseSimpleHead took, which has checked the
// rest already: its Host.
func simpleServable(req *http.Request) bool { return httpguts.ValidHostHeader(req.Host) }

// slowH1Heads has every request header read by http.ReadRequest (tests and benchmarks).
var slowH1Heads atomic.Bool

// headBuffered reports whether the next request's whole header is buffered already, as
// waitHead will see it (after the CR and LF bytes a POST may leave are skipped).
func (c *h1Conn) headBuffered() bool {
	buf, _ := c.br.Peek(c.br.Buffered())
	if len(buf) < 4 { // as the Peek(4) after a POST would read
		return false
	}
	if c.lastPOST {
		buf = buf[leadingCRLF(buf[:4]):]
	}
	return headerEnd(buf) > 0
}

// waitHead reads until a whole request header is buffered. It fails when the buffer is
// full first (a header over 4 KiB: net/http applies MaxHeaderBytes) or reading fails
// (c.readErr).
func (c *h1Conn) waitHead() bool {
	for {
		n := c.br.Buffered()
		buf, _ := c.br.Peek(n)
		if headerEnd(buf) > 0 {
			return true
		}
		if n == c.br.Size() {
			c.readErr = errHeadTooBig
			return false
		}
		if _, err := c.br.Peek(n + 1); err != nil {
			c.readErr = err
			return false
		}
	}
}

var errHeadTooBig = errors.New("edge: request header over the loop's buffer")

// replay returns a copy of what is buffered.
func (c *h1Conn) replay() *[]byte {
	buf, _ := c.br.Peek(c.br.Buffered())
	return c.replayOf(buf)
}

// replayOf returns a copy of buf, all that is buffered, and the byte the background read
// took, if it holds one: that byte came after buf (br never reads while the background
// read may run), and the socket's next byte comes after it.
func (c *h1Conn) replayOf(buf []byte) *[]byte {
	b := bytes.Clone(buf)
	if b == nil {
		b = []byte{}
	}
	if c.bg.hasByte {
		b, c.bg.hasByte = append(b, c.bg.b[0]), false
	}
	return &b
}

// headerEnd returns the length of the request header at the start of buf, up to and
// including its empty line (CRLF or LF, as textproto reads lines), or 0 if incomplete.
func headerEnd(buf []byte) int {
	from := 0
	for {
		i := bytes.IndexByte(buf[from:], '\n')
		if i < 0 {
			return 0
		}
		i += from
		if i > 0 && i+1 < len(buf) && buf[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(buf) && buf[i+1] == '\r' && buf[i+2] == '\n' {
			return i + 3
		}
		from = i + 1
	}
}

// leadingCRLF counts the CR and LF bytes at the start of b.
func leadingCRLF(b []byte) int {
	n := 0
	for _, c := range b {
		if c != '\r' && c != '\n' {
			break
		}
		n++
	}
	return n
}

// servable reports whether the loop serves req, whose raw header is at the start of raw:
// an HTTP/1.1 request in origin form, without a chunked body, Expect or Upgrade, with one valid
// Host header and valid header fields (what net/http's server checks before answering
// 400). Everything else is net/http's to serve or refuse.
func (c *h1Conn) servable(req *http.Request, raw []byte) bool {
	if req.ProtoMajor != 1 || req.ProtoMinor != 1 || req.ContentLength < 0 ||
		len(req.TransferEncoding) > 0 || req.Method == http.MethodConnect ||
		!strings.HasPrefix(req.RequestURI, "/") {
		return false
	}
	if _, ok := req.Header["Expect"]; ok {
		return false
	}
	if _, ok := req.Header["Upgrade"]; ok {
		return false
	}
	if hostLines(raw[:headerEnd(raw)]) != 1 || !httpguts.ValidHostHeader(req.Host) {
		return false
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// hostLines counts the header lines of head named Host (any case); a folded line
// (obs-fold) counts as -1: net/http decides.
func hostLines(head []byte) int {
	n := 0
	_, head, _ = bytes.Cut(head, []byte("\n")) // the request line
	for len(head) > 0 {
		var line []byte
		line, head, _ = bytes.Cut(head, []byte("\n"))
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			return -1
		}
		if len(line) >= 5 && line[4] == ':' && strings.EqualFold(string(line[:4]), "host") {
			n++
		}
	}
	return n
}
