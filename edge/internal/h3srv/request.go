package h3srv

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/quic-go/qpack"
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
// RequestURI, Host, Header and ContentLength), with limit the largest decoded size.
func decodeRequest(req *http.Request, block []byte, limit int) error {
	var ps pseudo
	hdr := make(http.Header, 8)
	decode := decoder.Decode(block)
	size, regular := 0, false
	for {
		hf, err := decode()
		if err != nil {
			if err == io.EOF {
				break
			}
			return &qpackError{err}
		}
		if size += len(hf.Name) + len(hf.Value) + fieldOverhead; size > limit {
			return errHeaderTooLarge
		}
		if hf.IsPseudo() {
			if regular {
				return errMalformed("pseudo-header field after a regular field")
			}
			if err := ps.set(hf); err != nil {
				return err
			}
			continue
		}
		regular = true
		if err := addField(hdr, hf); err != nil {
			return err
		}
	}
	return fillRequest(req, &ps, hdr)
}

// decoder is the QPACK decoder: stateless with the static table only.
var decoder = qpack.NewDecoder()

// set records one pseudo-header field.
func (ps *pseudo) set(hf qpack.HeaderField) error {
	var bit uint8
	var dst *string
	switch hf.Name {
	case ":method":
		bit, dst = seenMethod, &ps.method
	case ":scheme":
		bit, dst = seenScheme, &ps.scheme
	case ":authority":
		bit, dst = seenAuthority, &ps.authority
	case ":path":
		bit, dst = seenPath, &ps.path
	default:
		return errMalformed("pseudo-header field " + strconv.Quote(hf.Name))
	}
	if ps.seen&bit != 0 {
		return errMalformed("duplicate " + hf.Name)
	}
	ps.seen |= bit
	*dst = hf.Value
	return nil
}

// addField adds a regular field to hdr, refusing what RFC 9114 section 4.2 forbids:
// names with uppercase letters or invalid characters, invalid values, and
// connection-specific fields. Cookie fields are joined with "; " (section 4.2.1).
func addField(hdr http.Header, hf qpack.HeaderField) error {
	if !validFieldName(hf.Name) {
		return errMalformed("invalid field name " + strconv.Quote(hf.Name))
	}
	if !httpguts.ValidHeaderFieldValue(hf.Value) {
		return errMalformed("invalid value of " + hf.Name)
	}
	switch hf.Name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return errMalformed("connection-specific field " + hf.Name)
	case "te":
		if hf.Value != "trailers" {
			return errMalformed("te other than trailers")
		}
	case "cookie":
		if c := hdr["Cookie"]; len(c) == 1 {
			c[0] = c[0] + "; " + hf.Value
			return nil
		}
	}
	key := canonicalKey(hf.Name)
	hdr[key] = append(hdr[key], hf.Value)
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
func fillRequest(req *http.Request, ps *pseudo, hdr http.Header) error {
	if ps.seen&seenMethod == 0 || ps.method == "" {
		return errMalformed("no :method")
	}
	if !validMethod(ps.method) {
		return errMalformed("invalid :method")
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
	var u *url.URL
	var err error
	if ps.method == http.MethodConnect {
		if ps.seen&(seenScheme|seenPath) != 0 || ps.authority == "" {
			return errMalformed("CONNECT with :scheme or :path, or without :authority")
		}
		u = &url.URL{Host: ps.authority}
	} else {
		if ps.seen&(seenScheme|seenPath) != seenScheme|seenPath || ps.scheme == "" || ps.path == "" {
			return errMalformed("no :scheme or :path")
		}
		if (ps.scheme == "https" || ps.scheme == "http") && host == "" {
			return errMalformed("no :authority or host")
		}
		if u, err = requestURL(ps); err != nil {
			return err
		}
	}
	req.Method, req.URL, req.RequestURI, req.Host, req.Header = ps.method, u, ps.path, host, hdr
	return contentLength(req)
}

// requestURL parses :path.
func requestURL(ps *pseudo) (*url.URL, error) {
	if ps.path == "*" {
		if ps.method != http.MethodOptions {
			return nil, errMalformed(":path * for " + ps.method)
		}
		return &url.URL{Path: "*"}, nil
	}
	if ps.path[0] != '/' {
		return nil, errMalformed("invalid :path")
	}
	u, err := url.ParseRequestURI(ps.path)
	if err != nil {
		return nil, errMalformed("invalid :path")
	}
	return u, nil
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

// canonicalKey returns the canonical form of a lowercase field name: from a table of
// common ones (no allocation), else http.CanonicalHeaderKey.
func canonicalKey(name string) string {
	if k, ok := commonKeys[name]; ok {
		return k
	}
	return http.CanonicalHeaderKey(name)
}

// commonKeys maps common lowercase request field names to their canonical form.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range strings.Fields(`Accept Accept-Charset Accept-Encoding Accept-Language
		Authorization Cache-Control Content-Encoding Content-Length Content-Type Cookie Date
		Dnt Early-Data Etag Expect Forwarded From Host If-Match If-Modified-Since
		If-None-Match If-Range If-Unmodified-Since Max-Forwards Origin Pragma Priority
		Proxy-Authorization Range Referer Sec-Ch-Ua Sec-Ch-Ua-Mobile Sec-Ch-Ua-Platform
		Sec-Fetch-Dest Sec-Fetch-Mode Sec-Fetch-Site Sec-Fetch-User Te Trailer User-Agent Via
		Upgrade-Insecure-Requests X-Forwarded-For X-Forwarded-Host X-Forwarded-Proto
		X-Real-Ip X-Request-Id X-Requested-With`) {
		m[strings.ToLower(k)] = k
	}
	return m
}()
