package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
)

// maxPlainFields is the most header lines readPlainHead takes; more go to ReadResponse.
const maxPlainFields = 64

// field is one header line of a response head: offsets of its name and its value.
type field struct{ ks, ke, vs, ve int32 }

// plainHead is a response head readPlainHead can take, as parsed from the buffer.
type plainHead struct {
	n      int // bytes, final CRLF included
	code   int
	status [2]int // offsets of Response.Status ("200 OK")
	fields [maxPlainFields]field
	nf     int
	length int64 // Content-Length
}

// lengthBody stands for the body of a head readPlainHead read, until h1Conn.roundTrip
// replaces it: the connection's next Content-Length bytes. Closing it does nothing (the
// connection is closed by whoever drops the response before roundTrip returns it).
var lengthBody io.ReadCloser = pendingBody{}

type pendingBody struct{}

func (pendingBody) Read([]byte) (int, error) { return 0, errReadClosedBody }
func (pendingBody) Close() error             { return nil }

// readPlainHead reads the head of the usual response the way http.ReadResponse would,
// with fewer allocations (the head in one string, the values in one slice, no transfer
// reader): an HTTP/1.1 response with a body of a given Content-Length (status 200-599
// but 204 and 304, not to HEAD), header lines "Name: value" with no Transfer-Encoding,
// Trailer or Pragma, the whole head in br's buffer. For anything else it returns nil,
// having consumed nothing, and the caller uses http.ReadResponse; a read error is left
// for it to meet again (h1Conn's read errors are sticky). The body is lengthBody (or
// http.NoBody): Content-Length bytes from br, for the caller to read.
func readPlainHead(br *bufio.Reader, req *http.Request) *http.Response {
	if pr := readPlain(br, req, nil); pr != nil {
		return &pr.res
	}
	return nil
}

// plainResponse is a response readPlainHead read and the h1Body that h1Conn.roundTrip
// gives it, in one allocation.
type plainResponse struct {
	res  http.Response
	body h1Body
	vals [smallHeader]string // the header's values, when they fit
}

// smallHeader is the most header lines whose values plainResponse holds itself.
const smallHeader = 8

// readPlain is readPlainHead, the response in a plainResponse: slot, zero and used for
// no other response, if not nil, else a new one.
func readPlain(br *bufio.Reader, req *http.Request, slot *plainResponse) *plainResponse {
	if req.Method == http.MethodHead {
		return nil
	}
	buf := peekHead(br)
	if buf == nil {
		return nil
	}
	var ph plainHead
	if !ph.parse(buf) {
		return nil
	}
	s := ph.text(buf)
	pr := slot
	if pr == nil {
		pr = new(plainResponse)
	}
	pr.res = http.Response{
		Status: s[ph.status[0]:ph.status[1]], StatusCode: ph.code,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: ph.header(s, &pr.vals), ContentLength: ph.length, Request: req,
	}
	res := &pr.res
	res.Body = lengthBody
	if ph.length == 0 {
		res.Body = http.NoBody
	}
	if httpguts.HeaderValuesContainsToken(res.Header["Connection"], "close") {
		res.Close = true
		delete(res.Header, "Connection") // as ReadResponse does
	}
	br.Discard(ph.n)
	return pr
}

// peekHead returns the response head in br's buffer, reading until it is all there; nil
// when it does not fit or a read fails.
func peekHead(br *bufio.Reader) []byte {
	for n := 1; ; {
		b, err := br.Peek(n)
		if err != nil {
			return nil
		}
		b, _ = br.Peek(br.Buffered())
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			return b[:i+4]
		}
		if len(b) >= br.Size() {
			return nil
		}
		n = len(b) + 1
	}
}

// text is the head buf as a string, its header names canonical (textproto's
// CanonicalMIMEHeaderKey), in one allocation.
func (ph *plainHead) text(buf []byte) string {
	var sb strings.Builder
	sb.Grow(len(buf))
	pos := 0
	for _, f := range ph.fields[:ph.nf] {
		sb.Write(buf[pos:f.ks])
		upper := true
		for _, c := range buf[f.ks:f.ke] {
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			} else if !upper && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			sb.WriteByte(c)
			upper = c == '-'
		}
		pos = int(f.ke)
	}
	sb.Write(buf[pos:])
	return sb.String()
}

// parse parses buf (a head ending in CRLF CRLF); false: not a plain head.
func (ph *plainHead) parse(buf []byte) bool {
	ph.n = len(buf)
	line, rest, _ := bytes.Cut(buf, []byte("\r\n"))
	if !ph.statusLine(line) {
		return false
	}
	off := len(line) + 2
	lengths := 0
	for {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(line) == 0 {
			break
		}
		if ph.nf == maxPlainFields {
			return false
		}
		f, ok := fieldOf(line, off)
		if !ok {
			return false
		}
		name := buf[f.ks:f.ke]
		if is(name, "Transfer-Encoding") || is(name, "Trailer") || is(name, "Pragma") {
			return false
		}
		if is(name, "Content-Length") {
			lengths++
			if ph.length = parseLength(buf[f.vs:f.ve]); ph.length < 0 {
				return false
			}
		}
		ph.fields[ph.nf] = f
		ph.nf++
		off += len(line) + 2
	}
	return lengths == 1
}

// statusLine parses "HTTP/1.1 200 OK" (the reason may be empty, the space before it too).
func (ph *plainHead) statusLine(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("HTTP/1.1 "))
	if !ok || len(rest) < 3 || (len(rest) > 3 && rest[3] != ' ') {
		return false
	}
	code := 0
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return false
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 || code == http.StatusNoContent || code == http.StatusNotModified {
		return false
	}
	for _, c := range rest[3:] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false // ReadResponse's line would end at a bare LF
		}
	}
	ph.code = code
	ph.status = [2]int{9, len(line)}
	return true
}

// fieldOf parses header line "Name: value" starting at offset off of the head: a token
// name, value bytes textproto accepts, the value trimmed of spaces and tabs.
func fieldOf(line []byte, off int) (field, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return field{}, false
	}
	for _, c := range line[:i] {
		if !httpguts.IsTokenRune(rune(c)) {
			return field{}, false
		}
	}
	vs, ve := i+1, len(line)
	for _, c := range line[vs:] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return field{}, false
		}
	}
	for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
		vs++
	}
	for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
		ve--
	}
	return field{int32(off), int32(off + i), int32(off + vs), int32(off + ve)}, true
}

// is reports whether token name is canonical header name k in any case.
func is(name []byte, k string) bool {
	return len(name) == len(k) && bytes.EqualFold(name, []byte(k))
}

// parseLength parses a Content-Length value as ReadResponse accepts it (digits, at most
// 63 bits); -1 if it does not.
func parseLength(v []byte) int64 {
	if len(v) == 0 || len(v) > 18 {
		return -1
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// header builds the header map from the head string s: the values are substrings of s,
// their slices cut from one array (capacity 1 each, so that an append copies): small,
// when they fit in it.
func (ph *plainHead) header(s string, small *[smallHeader]string) http.Header {
	h, _ := headerMaps.Get().(http.Header)
	if h == nil {
		h = make(http.Header, ph.nf)
	}
	var vals []string
	if ph.nf <= len(small) {
		vals = small[:ph.nf]
	} else {
		vals = make([]string, ph.nf)
	}
	for i, f := range ph.fields[:ph.nf] {
		k, v := s[f.ks:f.ke], s[f.vs:f.ve]
		if vv, ok := h[k]; ok {
			h[k] = append(vv, v)
			continue
		}
		vals[i] = v
		h[k] = vals[i : i+1 : i+1]
	}
	return h
}

// headerMaps holds emptied response header maps for readPlainHead: Handler.forward
// returns the map of a response it passed on whole (its values were moved to the
// ResponseWriter's; nothing else holds the map).
var headerMaps sync.Pool

// recycleHeader empties h and keeps it for another response, unless it grew large.
func recycleHeader(h http.Header) {
	if len(h) <= maxPlainFields {
		clear(h)
		headerMaps.Put(h)
	}
}
