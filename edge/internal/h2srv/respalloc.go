package h2srv

// edge: fewer allocations per response (README.md, "Changes"):
//
//   - the Date value is formatted once a second, not per response (httpDate);
//   - a response's HEADERS and its final message are one allocation (the handlerFinal
//     holds the writeResHeaders by value: handlerfinal.go);
//   - the header snapshot is Header.Clone (one []string for all values) rather than a
//     slice per key (cloneHeader);
//   - the handler's ServeHTTP method value is bound once per connection (serveHTTP);
//   - a request's decoded fields start with room for metaFieldsCap (readMetaFrame), not
//     grown from one: a short request (h2load's, curl's: 5 to 7 fields) takes one
//     allocation for them instead of four, a browser's (15 to 20) three instead of five;
//   - a request's header values are one []string (requestHeader), not a slice per key;
//   - the request is WithContext's copy of a literal on the stack, not of a second
//     allocation; its body (requestBody) and its responseWriter are fields of the stream;
//   - response field names edge sets that the common-header table lacks (Alt-Svc) are
//     lower-cased from a table of their own (lowerHeader), not by strings.ToLower.
//
// The bytes on the wire are the same: the same fields, values and order.

import (
	"net/http"

	"github.com/edgectl/edge/edge/internal/h2srv/internal/httpcommon"
	"golang.org/x/net/http2/hpack"
)

// metaFieldsCap is the room a MetaHeadersFrame's Fields start with.
const metaFieldsCap = 8

// requestHeader returns the header of a request's regular fields, as upstream's
// header.Add of each (canonical names, values in order), with one []string for the
// values: a key's first value is a slice of it with no room to grow, so a repeated key
// appends to a new slice.
func (sc *serverConn) requestHeader(fields []hpack.HeaderField) http.Header {
	header := make(http.Header, len(fields))
	vals := make([]string, len(fields))
	for i, hf := range fields {
		k := sc.canonicalHeader(hf.Name)
		if vv, ok := header[k]; ok {
			header[k] = append(vv, hf.Value)
			continue
		}
		vals[i] = hf.Value
		header[k] = vals[i : i+1 : i+1]
	}
	return header
}

// extraLowerHeader is the lower-case form of canonical field names edge's responses
// carry that httpcommon's table of common ones lacks.
var extraLowerHeader = map[string]string{
	"Alt-Svc":                 "alt-svc",
	"Content-Security-Policy": "content-security-policy",
	"Permissions-Policy":      "permissions-policy",
	"Referrer-Policy":         "referrer-policy",
	"X-Content-Type-Options":  "x-content-type-options",
	"X-Frame-Options":         "x-frame-options",
	"X-Request-Id":            "x-request-id",
}

// lowerHeader is httpcommon.LowerHeader, with extraLowerHeader looked up first.
func lowerHeader(v string) (lower string, ascii bool) {
	if s, ok := extraLowerHeader[v]; ok {
		return s, true
	}
	return httpcommon.LowerHeader(v)
}
