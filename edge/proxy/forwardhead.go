package proxy

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
)

// fwdHead is the upstream request of a direct forward (see Handler.direct): the incoming
// request as httputil.ReverseProxy and Request.Write would send it (the same request line,
// Host, User-Agent and headers, sorted), written straight from the incoming request into
// the upstream connection's buffer, with no outbound request, header or URL copied. The
// headers ReverseProxy removes are skipped as they are met: the hop-by-hop ones and those
// the incoming Connection header lists, and (but from a trusted proxy) every
// client-supplied forwarding header (dropForwarded); Te: trailers and the forwarding
// headers of Handler.setForwarded are added.
type fwdHead struct {
	in       *http.Request
	w        http.ResponseWriter // receives the 1xx responses
	target   *url.URL            // the upstream of the current attempt
	prefix   string              // the route's path to strip; "" none
	clientIP string              // the peer's address; "" none (RemoteAddr is not ip:port)
	te       bool                // Te: trailers
	trusted  bool                // the peer is a trusted proxy: its forwarding headers are kept
	keys     *[]string           // the sorted names writeFields writes (prepare); nil: not yet
	plain    *plainResponse      // storage for the response readPlain reads first; nil: none
}

// newFwdHead returns the head of in (direct(in) holds); its target is set per attempt.
func newFwdHead(h *Handler, w http.ResponseWriter, in *http.Request) fwdHead {
	f := fwdHead{in: in, w: w,
		te: httpguts.HeaderValuesContainsToken(in.Header["Te"], "trailers")}
	if h.cfg.StripPrefix {
		f.prefix = h.cfg.Path
	}
	if ip, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		f.clientIP = ip
	}
	f.trusted = len(h.m.opts.TrustedProxies) > 0 && trusted(in.RemoteAddr, h.m.opts.TrustedProxies)
	return f
}

// dropped reports whether ReverseProxy removes header k of the incoming request:
// hop-by-hop, listed in Connection, or a client-supplied forwarding header.
func (f *fwdHead) dropped(k string) bool {
	return f.droppedIn(f.in.Header["Connection"], k)
}

// droppedIn is dropped, with conn the incoming Connection header's values.
func (f *fwdHead) droppedIn(conn []string, k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true // the last four are the forwarding headers setForwarded writes
	}
	return connectionListed(conn, k) || (!f.trusted && clientForwarding(k))
}

// written reports whether Request.Write writes header k among the others (Host,
// User-Agent and the framing headers are its own).
func written(k string) bool {
	switch k {
	case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
		return false
	}
	return true
}

// prepare is the Transport's check of the outgoing headers (validateHeaders), over the
// headers that are sent ("" means valid), and, in the same pass over the incoming
// header map, the collection of the names writeFields writes, sorted. A prepared head
// holds a pooled slice until release.
func (f *fwdHead) prepare() string {
	kp := keyPool.Get().(*[]string)
	keys := (*kp)[:0]
	conn := f.in.Header["Connection"]
	for k, vv := range f.in.Header {
		if f.droppedIn(conn, k) {
			continue
		}
		if msg := validateHeader(k, vv); msg != "" {
			*kp = keys
			f.keys = kp
			f.release()
			return msg
		}
		if written(k) {
			keys = append(keys, k)
		}
	}
	if f.trusted {
		for _, k := range [...]string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			if msg := validateHeader(k, f.in.Header[k]); msg != "" {
				*kp = keys
				f.keys = kp
				f.release()
				return msg
			}
		}
	}
	*kp = f.addedKeys(keys)
	f.keys = kp
	return ""
}

// release returns the names prepare collected to their pool.
func (f *fwdHead) release() {
	if f.keys == nil {
		return
	}
	keys := *f.keys
	clear(keys)
	*f.keys = keys[:0]
	keyPool.Put(f.keys)
	f.keys = nil
}

// addedKeys appends the names of the headers the forward adds (Te, the forwarding ones)
// to keys, and sorts them in Request.Write's order.
func (f *fwdHead) addedKeys(keys []string) []string {
	if f.te {
		keys = append(keys, "Te")
	}
	if f.trusted && f.in.Header["Forwarded"] != nil {
		keys = append(keys, "Forwarded")
	}
	if f.clientIP != "" {
		keys = append(keys, "X-Forwarded-For")
	}
	keys = append(keys, "X-Forwarded-Host", "X-Forwarded-Proto")
	slices.Sort(keys)
	return keys
}

// keyPool holds the slices the header names are sorted in.
var keyPool = sync.Pool{New: func() any { s := make([]string, 0, 32); return &s }}

// errCTLInURL is Request.Write's refusal of a control character in the request target.
var errCTLInURL = errors.New("net/http: can't write control character in Request.URL")

// write writes the request head to bw.
func (f *fwdHead) write(bw *bufio.Writer) error {
	u := *f.in.URL
	cleanURLPath(&u)
	if f.prefix != "" {
		stripPrefix(&u, f.prefix)
	}
	rewriteURL(&u, f.target)
	if ctlByte(u.RawQuery) {
		return errCTLInURL
	}
	bw.WriteString(f.in.Method)
	bw.WriteByte(' ')
	if p := u.EscapedPath(); p != "" {
		bw.WriteString(p)
	} else {
		bw.WriteByte('/')
	}
	if u.ForceQuery || u.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(u.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(f.in.Host)
	bw.WriteString("\r\n")
	if ua := f.in.Header["User-Agent"]; len(ua) > 0 && ua[0] != "" && !f.dropped("User-Agent") {
		writeField(bw, "User-Agent", ua[0])
	}
	f.writeFields(bw)
	_, err := bw.WriteString("\r\n")
	return err
}

// writeFields writes the headers in Request.Write's order (sorted by name), those
// prepare collected (an unprepared head collects them here).
func (f *fwdHead) writeFields(bw *bufio.Writer) {
	if f.keys == nil {
		if msg := f.prepare(); msg != "" {
			return // send refuses the head before writing it
		}
		defer f.release()
	}
	for _, k := range *f.keys {
		f.writeKey(bw, k)
	}
}

// writeKey writes the field k of the forwarded head: the request's values, or edge's own
// for Te and the X-Forwarded headers.
func (f *fwdHead) writeKey(bw *bufio.Writer, k string) {
	switch k {
	case "Te":
		writeField(bw, k, "trailers")
	case "X-Forwarded-For":
		writeField(bw, k, f.forwardedFor())
	case "X-Forwarded-Host":
		f.writeForwarded(bw, k, f.in.Host)
	case "X-Forwarded-Proto":
		f.writeForwarded(bw, k, f.proto())
	default: // Forwarded is here only from a trusted proxy
		for _, v := range f.in.Header[k] {
			writeField(bw, k, v)
		}
	}
}

// forwardedFor is X-Forwarded-For: the peer, after a trusted proxy's own list.
func (f *fwdHead) forwardedFor() string {
	if prior := f.in.Header["X-Forwarded-For"]; f.trusted && len(prior) > 0 {
		return strings.Join(prior, ", ") + ", " + f.clientIP
	}
	return f.clientIP
}

// writeForwarded writes X-Forwarded-Host or -Proto: a trusted proxy's when it sent one,
// else edge's own (v).
func (f *fwdHead) writeForwarded(bw *bufio.Writer, k, v string) {
	if vv := f.in.Header[k]; f.trusted && vv != nil {
		for _, v := range vv {
			writeField(bw, k, v)
		}
		return
	}
	writeField(bw, k, v)
}

func (f *fwdHead) proto() string {
	if f.in.TLS == nil {
		return "http"
	}
	return "https"
}

// writeField writes one header line as Header.Write does (the value trimmed; a validated
// value has no newline to replace).
func writeField(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(trimOWS(v))
	bw.WriteString("\r\n")
}

// trimOWS is textproto.TrimString: v without leading and trailing spaces and tabs.
func trimOWS(v string) string {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}

// ctlByte reports whether s has an ASCII control character.
func ctlByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}

// rewriteURL points u at target as httputil.ProxyRequest.SetURL does: target's path and
// query joined with u's (the scheme and host are not written: the Host header is the
// incoming one).
func rewriteURL(u, target *url.URL) {
	if target.Path == "" && target.RawPath == "" && target.RawQuery == "" &&
		u.RawPath == "" && strings.HasPrefix(u.Path, "/") {
		return // the common case: joined to an empty base, the path is unchanged
	}
	v := *u // u stays on its caller's stack
	req := http.Request{URL: &v}
	setTarget(&req, target)
	*u = v
}

// connectionListed reports whether canonical header name k is one of the tokens of the
// Connection header values conn, as http.Header.Del would find it (the token in canonical
// form), without allocating.
func connectionListed(conn []string, k string) bool {
	for _, v := range conn {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = trimOWS(tok); tok != "" && canonicalIs(tok, k) {
				return true
			}
		}
	}
	return false
}

// canonicalIs reports whether http.CanonicalHeaderKey(s) == k.
func canonicalIs(s, k string) bool {
	if len(s) != len(k) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !httpguts.IsTokenRune(rune(s[i])) {
			return s == k // not a token: CanonicalHeaderKey leaves it as it is
		}
	}
	upper := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != k[i] {
			return false
		}
		upper = c == '-'
	}
	return true
}
