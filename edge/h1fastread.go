package edge

import (
	"net/http"
	"net/textproto"
	"net/url"

	reqtarget "github.com/edgectl/edge/edge/internal/target"
	"golang.org/x/net/http/httpguts"
)

// parseSimpleHead parses head, a whole request header (request line to empty line, as
// headerEnd measures it), into the *http.Request http.ReadRequest would return for it,
// when it is of the plain kind keep-alive clients send: GET or HEAD, HTTP/1.1, CRLF line
// ends, an origin-form target of unreserved characters (no escapes, no fragment), one
// Host field, field names of letters, digits and hyphens, printable ASCII values, and no
// field that changes how ReadRequest reads the rest (Content-Length, Transfer-Encoding,
// Trailer, Pragma) or the loop's serving (Expect, Upgrade). Anything else returns nil:
// http.ReadRequest reads it, the reference behaviour (h1fastread_test.go compares the
// two). Of the loop's checks (servable), only the Host's is left (simpleServable).
//
// It costs half of ReadRequest's time and a fifth of its allocations: one string for the
// whole header (the target, the field values and the names already canonical are slices
// of it), the map, and one simpleRequest for the Request, its URL and the values of a
// small header (one slice more for a larger one).
func parseSimpleHead(head []byte) *http.Request {
	return parseSimpleHeadInto(head, new(simpleRequest))
}

// parseSimpleHeadInto is parseSimpleHead with sr, zero, as the request's storage (the
// loop's comes with the request's response: h1Exchange). It leaves sr zero when it
// returns nil.
func parseSimpleHeadInto(head []byte, sr *simpleRequest) *http.Request {
	line, rest, ok := cutCRLF(head)
	if !ok {
		return nil
	}
	method, ok := simpleRequestLine(line)
	if !ok {
		return nil
	}
	lines := 0
	for b := rest; string(b) != "\r\n"; lines++ {
		var field []byte
		var ok bool
		if field, b, ok = cutCRLF(b); !ok || len(field) == 0 {
			return nil
		}
	}
	// The target, the field names and values are slices of one string.
	s := string(head)
	target := s[len(method)+1 : len(line)-len(" HTTP/1.1")]
	s = s[len(line)+2:]
	h := make(http.Header, lines)
	var vals []string
	if lines <= len(sr.vals) {
		vals = sr.vals[:lines]
	} else {
		vals = make([]string, lines)
	}
	hosts, host := 0, ""
	for i := 0; i < lines; i++ {
		var field string
		field, s = cutCRLFString(s)
		key, value, ok := simpleField(field)
		if !ok {
			clear(sr.vals[:])
			return nil
		}
		switch key {
		case "Host": // Request.Host; ReadRequest leaves it out of the Header
			hosts, host = hosts+1, value
			continue
		case "Content-Length", "Transfer-Encoding", "Trailer", "Pragma", "Expect", "Upgrade":
			clear(sr.vals[:])
			return nil
		}
		vals[i] = value
		if vv := h[key]; vv != nil {
			h[key] = append(vv, value)
		} else {
			h[key] = vals[i : i+1 : i+1]
		}
	}
	if hosts != 1 {
		clear(sr.vals[:])
		return nil
	}
	sr.url = reqtarget.URL(target)
	sr.req = http.Request{
		Method: method, URL: &sr.url, RequestURI: target,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Host: host, Body: http.NoBody,
		Close: httpguts.HeaderValuesContainsToken(h["Connection"], "close"),
	}
	return &sr.req
}

// simpleRequest is what parseSimpleHead allocates for a request, in one piece.
type simpleRequest struct {
	req  http.Request
	url  url.URL
	vals [simpleFields]string // the header's values, when they fit
}

// simpleFields is the most header lines (Host included) whose values simpleRequest
// holds itself: what curl, wrk, h2load and most API clients send.
const simpleFields = 8

// simpleRequestLine returns the method of a request line of parseSimpleHead's kind.
func simpleRequestLine(line []byte) (method string, ok bool) {
	const proto = " HTTP/1.1"
	if len(line) < len(proto) || string(line[len(line)-len(proto):]) != proto {
		return "", false
	}
	line = line[:len(line)-len(proto)]
	switch {
	case len(line) > 4 && string(line[:4]) == "GET ":
		method, line = http.MethodGet, line[4:]
	case len(line) > 5 && string(line[:5]) == "HEAD ":
		method, line = http.MethodHead, line[5:]
	default:
		return "", false
	}
	return method, reqtarget.Simple(line)
}

// simpleField splits a header line "Name: value" whose name is letters, digits and
// hyphens and whose value is printable ASCII (and tabs), into its canonical name and its
// value without the spaces around it, as textproto reads it.
func simpleField(line string) (key, value string, ok bool) {
	colon := -1
	canonical := true
	upper := true
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == ':' {
			colon = i
			break
		}
		switch {
		case c == '-':
			upper = true
			continue
		case !isAlnum(c):
			return "", "", false
		case upper && 'a' <= c && c <= 'z', !upper && 'A' <= c && c <= 'Z':
			canonical = false
		}
		upper = false
	}
	if colon <= 0 {
		return "", "", false
	}
	key, value = line[:colon], line[colon+1:]
	if !canonical {
		key = textproto.CanonicalMIMEHeaderKey(key)
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c > '~' {
			return "", "", false
		}
	}
	return key, trimSpaceTab(value), true
}

// trimSpaceTab trims the spaces and tabs around s, as textproto does around a value.
func trimSpaceTab(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// cutCRLF splits b after its first line, which must end with CRLF and hold no other CR
// or LF.
func cutCRLF(b []byte) (line, rest []byte, ok bool) {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				return b[:i], b[i+2:], true
			}
			return nil, nil, false
		case '\n':
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// cutCRLFString is cutCRLF for a string whose lines were checked by cutCRLF.
func cutCRLFString(s string) (line, rest string) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '\r' {
			return s[:i], s[i+2:]
		}
	}
	return s, ""
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
