package h3srv

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/quic-go/qpack"
)

// fieldEncoder encodes field sections into HEADERS frames; pooled with its buffer.
type fieldEncoder struct {
	enc *qpack.Encoder
	buf appendWriter // the encoded field section
}

// appendWriter is an io.Writer appending to its slice.
type appendWriter struct{ b []byte }

// Write implements io.Writer.
func (a *appendWriter) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// fieldEncoders recycles encoders.
var fieldEncoders = sync.Pool{New: func() any {
	e := &fieldEncoder{buf: appendWriter{b: make([]byte, 0, 512)}}
	e.enc = qpack.NewEncoder(&e.buf)
	return e
}}

// encodeSection encodes a field section: status (0: none, for trailers) and the
// fields of h that skip does not exclude. Release the encoder after use.
func encodeSection(status int, h http.Header, skip func(string) bool) *fieldEncoder {
	e := fieldEncoders.Get().(*fieldEncoder)
	e.buf.b = e.buf.b[:0]
	if status != 0 {
		e.enc.WriteField(qpack.HeaderField{Name: ":status", Value: statusText(status)})
	}
	for k, vv := range h {
		if skip(k) {
			continue
		}
		name := lowerKey(k)
		for _, v := range vv {
			e.enc.WriteField(qpack.HeaderField{Name: name, Value: v})
		}
	}
	if len(e.buf.b) == 0 { // no field: just the section prefix (RFC 9204 section 4.5.1)
		e.buf.b = append(e.buf.b, 0, 0)
	}
	e.enc.Close()
	return e
}

// frameLen is the length of the HEADERS frame carrying the section.
func (e *fieldEncoder) frameLen() int {
	n := len(e.buf.b)
	return varintLen(frameHeaders) + varintLen(uint64(n)) + n
}

// appendFrame appends the HEADERS frame carrying the section.
func (e *fieldEncoder) appendFrame(dst []byte) []byte {
	dst = appendFrameHeader(dst, frameHeaders, uint64(len(e.buf.b)))
	return append(dst, e.buf.b...)
}

// release returns e to the pool, unless a large section made its buffer large.
func (e *fieldEncoder) release() {
	if cap(e.buf.b) <= 64<<10 {
		fieldEncoders.Put(e)
	}
}

// headersFrame appends to dst a HEADERS frame as encodeSection encodes it.
func headersFrame(dst []byte, status int, h http.Header, skip func(string) bool) []byte {
	e := encodeSection(status, h, skip)
	dst = e.appendFrame(dst)
	e.release()
	return dst
}

// statusText returns the decimal code, without allocating for the common ones.
func statusText(code int) string {
	if code >= 100 && code < 600 {
		if s := statusTexts[code-100]; s != "" {
			return s
		}
	}
	return strconv.Itoa(code)
}

// statusTexts holds the decimal codes of the statuses net/http knows.
var statusTexts = func() (t [500]string) {
	for c := 100; c < 600; c++ {
		if http.StatusText(c) != "" {
			t[c-100] = strconv.Itoa(c)
		}
	}
	return t
}()

// lowerKey returns a header key in lowercase (HTTP/3 field names are), without
// allocating for common ones.
func lowerKey(k string) string {
	if l, ok := lowerKeys[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

// lowerKeys maps common canonical response header keys to lowercase.
var lowerKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range strings.Fields(`Accept-Ranges Access-Control-Allow-Credentials
		Access-Control-Allow-Headers Access-Control-Allow-Methods Access-Control-Allow-Origin
		Access-Control-Expose-Headers Access-Control-Max-Age Age Allow Alt-Svc Cache-Control
		Content-Disposition Content-Encoding Content-Language Content-Length Content-Location
		Content-Range Content-Security-Policy Content-Type Date Etag Expires Last-Modified Link
		Location Permissions-Policy Referrer-Policy Retry-After Server Set-Cookie
		Strict-Transport-Security Vary Www-Authenticate X-Content-Type-Options X-Frame-Options
		X-Request-Id X-Xss-Protection`) {
		m[k] = strings.ToLower(k)
	}
	return m
}()

// connectionSpecific reports whether k is a header HTTP/3 forbids (RFC 9114 section
// 4.2): never sent.
func connectionSpecific(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}
