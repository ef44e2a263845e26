package h3srv

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/edgectl/edge/edge/internal/target"

	"golang.org/x/net/http/httpguts"
)

// errMalformed is a request the server must treat as malformed (RFC 9114 section
// 4.1.2): a stream error H3_MESSAGE_ERROR.
type errMalformed string

func (e errMalformed) Error() string { return "h3srv: malformed request: " + string(e) }

// errHeaderTooLarge is a field section larger than Server.MaxHeaderBytes: 431.
var errHeaderTooLarge = errors.New("h3srv: request header fields too large")

// qpackError is a header block QPACK cannot decode: a connection error
// QPACK_DECOMPRESSION_FAILED (RFC 9204 section 2.2).
type qpackError struct{ err error }

func (e *qpackError) Error() string { return "h3srv: qpack: " + e.err.Error() }
func (e *qpackError) Unwrap() error { return e.err }

// fieldOverhead is what each field adds to a field section's size (RFC 9114 section
// 4.2.2, as HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE).
const fieldOverhead = 32

// pseudo holds a request's pseudo-header fields.
type pseudo struct {
	method, scheme, authority, path string
	seen                            uint8 // bits: which were present
}

// Bits of pseudo.seen.
const (
	seenMethod = 1 << iota
	seenScheme
	seenAuthority
	seenPath
)

// decodeRequest decodes a HEADERS frame's field section into req (its Method, URL,
// RequestURI, Host, Header and ContentLength), with limit the largest decoded size; u is
// the storage for its URL when the path is simple (see requestURL), cache the
// connection's decoded strings.
func decodeRequest(req *http.Request, u *url.URL, block []byte, limit int, cache *huffCache) error {
	d, err := decodeSection(block, limit, cache)
	if err != nil {
		return err
	}
	defer d.release()
	var ps pseudo
	n := 0
	for _, f := range d.fields {
		if len(f.name) > 0 && f.name[0] == ':' {
			if n > 0 {
				return errMalformed("pseudo-header field after a regular field")
			}
			if err := ps.set(f); err != nil {
				return err
			}
			continue
		}
		n++
	}
	hdr, err := buildHeader(d.fields[len(d.fields)-n:], n)
	if err != nil {
		return err
	}
	return fillRequest(req, u, &ps, hdr)
}

// buildHeader makes the header of n regular fields: one map and one backing array for
// the values of distinct names.
func buildHeader(fields []field, n int) (http.Header, error) {
	hdr := make(http.Header, n)
	vals := make([]string, n)
	for _, f := range fields {
		if err := addField(hdr, &vals, f); err != nil {
			return nil, err
		}
	}
	if c := hdr["Cookie"]; len(c) > 1 { // one field, joined with "; " (section 4.2.1)
		hdr["Cookie"] = []string{strings.Join(c, "; ")}
	}
	return hdr, nil
}

// set records one pseudo-header field.
func (ps *pseudo) set(hf field) error {
	var bit uint8
	var dst *string
	switch hf.name {
	case ":method":
		bit, dst = seenMethod, &ps.method
	case ":scheme":
		bit, dst = seenScheme, &ps.scheme
	case ":authority":
		bit, dst = seenAuthority, &ps.authority
	case ":path":
		bit, dst = seenPath, &ps.path
	default:
		return errMalformed("pseudo-header field " + strconv.Quote(hf.name))
	}
	if ps.seen&bit != 0 {
		return errMalformed("duplicate " + hf.name)
	}
	ps.seen |= bit
	*dst = hf.value
	return nil
}

// addField adds a regular field to hdr, refusing what RFC 9114 section 4.2 forbids:
// names with uppercase letters or invalid characters, invalid values, and
// connection-specific fields. The first value of a name is put in *vals, whose first
// element is then used up.
func addField(hdr http.Header, vals *[]string, f field) error {
	if !validFieldName(f.name) {
		return errMalformed("invalid field name " + strconv.Quote(f.name))
	}
	if !httpguts.ValidHeaderFieldValue(f.value) {
		return errMalformed("invalid value of " + f.name)
	}
	switch f.name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return errMalformed("connection-specific field " + f.name)
	case "te":
		if f.value != "trailers" {
			return errMalformed("te other than trailers")
		}
	}
	key := canonicalKey(f.name)
	if vv, ok := hdr[key]; ok {
		hdr[key] = append(vv, f.value)
		return nil
	}
	v := *vals
	v[0] = f.value
	hdr[key] = v[:1:1]
	*vals = v[1:]
	return nil
}

// validFieldName reports whether name is a valid lowercase field name.
func validFieldName(name string) bool {
	if !httpguts.ValidHeaderFieldName(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// fillRequest checks the pseudo-header fields (RFC 9114 section 4.3.1) and fills req.
func fillRequest(req *http.Request, u *url.URL, ps *pseudo, hdr http.Header) error {
	if ps.seen&seenMethod == 0 || ps.method == "" {
		return errMalformed("no :method")
	}
	if !validMethod(ps.method) {
		return errMalformed("invalid :method")
	}
	if ps.seen&seenAuthority != 0 && !validAuthority(ps.authority) {
		return errMalformed("invalid :authority")
	}
	if ps.seen&seenScheme != 0 && !validScheme(ps.scheme) {
		return errMalformed("invalid :scheme")
	}
	host := ps.authority
	if h, ok := hdr["Host"]; ok {
		if len(h) != 1 || (ps.seen&seenAuthority != 0 && h[0] != ps.authority) {
			return errMalformed("host disagrees with :authority")
		}
		if host == "" {
			host = h[0]
		}
		delete(hdr, "Host")
	}
	var err error
	if ps.method == http.MethodConnect {
		if ps.seen&(seenScheme|seenPath) != 0 || ps.authority == "" {
			return errMalformed("CONNECT with :scheme or :path, or without :authority")
		}
		u = &url.URL{Host: ps.authority}
		ps.path = ps.authority // RequestURI, as net/http's servers give it
	} else {
		if ps.seen&(seenScheme|seenPath) != seenScheme|seenPath || ps.scheme == "" || ps.path == "" {
			return errMalformed("no :scheme or :path")
		}
		if (ps.scheme == "https" || ps.scheme == "http") && host == "" {
			return errMalformed("no :authority or host")
		}
		if u, err = requestURL(ps, u); err != nil {
			return err
		}
	}
	req.Method, req.URL, req.RequestURI, req.Host, req.Header = ps.method, u, ps.path, host, hdr
	return contentLength(req)
}

// requestURL parses :path: into u when url.ParseRequestURI would take it as it is
// (target.Simple, as edge's HTTP/1.1 loop), else with url.ParseRequestURI.
func requestURL(ps *pseudo, u *url.URL) (*url.URL, error) {
	p := ps.path
	if p == "*" {
		if ps.method != http.MethodOptions {
			return nil, errMalformed(":path * for " + ps.method)
		}
		*u = url.URL{Path: "*"}
		return u, nil
	}
	if p[0] != '/' {
		return nil, errMalformed("invalid :path")
	}
	if target.Simple(p) {
		*u = target.URL(p)
		return u, nil
	}
	u, err := url.ParseRequestURI(p)
	if err != nil {
		return nil, errMalformed("invalid :path")
	}
	return u, nil
}

// validAuthority reports whether a is a valid host[:port] without userinfo (RFC 9114
// section 4.3.1 forbids it), as net/http's servers check a Host.
func validAuthority(a string) bool {
	return httpguts.ValidHostHeader(a) && !strings.Contains(a, "@")
}

// validScheme reports whether s is a lowercase URI scheme (RFC 3986 section 3.1).
func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// validMethod reports whether m is a token.
func validMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		if !httpguts.IsTokenRune(rune(m[i])) {
			return false
		}
	}
	return true
}

// contentLength sets req.ContentLength from its content-length field (-1 without one).
func contentLength(req *http.Request) error {
	req.ContentLength = -1
	v, ok := req.Header["Content-Length"]
	if !ok {
		return nil
	}
	for _, s := range v[1:] {
		if s != v[0] {
			return errMalformed("conflicting content-length")
		}
	}
	n, err := strconv.ParseUint(v[0], 10, 63)
	if err != nil || v[0] == "" || v[0][0] == '+' {
		return errMalformed("invalid content-length")
	}
	req.ContentLength = int64(n)
	if len(v) > 1 {
		req.Header["Content-Length"] = v[:1]
	}
	return nil
}
