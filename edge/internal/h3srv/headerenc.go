package h3srv

import (
	"net/http"
	"strconv"
)

// Field sections are encoded with QPACK's static table and no dynamic table, as the
// client's decoder expects of a server that did not ask for one: a field whose name and
// value are in the table is one byte or two (an indexed field line), one whose name is
// there a name reference and the value, any other the name and the value. Strings are
// sent as they are, not Huffman-coded: a response's few short fields are not worth the
// encoding's CPU (quic-go's encoder Huffman-codes every one).

// staticPair and staticName index the static table for the encoder.
var (
	staticPair = map[field]uint64{}
	staticName = map[string]uint64{}
)

func init() {
	for i, f := range staticTable {
		if _, ok := staticPair[f]; !ok {
			staticPair[f] = uint64(i)
		}
		if _, ok := staticName[f.name]; !ok {
			staticName[f.name] = uint64(i)
		}
	}
}

// appendField appends one field line.
func appendField(b []byte, name, value string) []byte {
	if i, ok := staticPair[field{name, value}]; ok {
		return appendPrefixInt(b, 6, 0xc0, i) // indexed field line, static
	}
	if i, ok := staticName[name]; ok {
		b = appendPrefixInt(b, 4, 0x50, i) // literal with static name reference
	} else {
		b = appendPrefixInt(b, 3, 0x20, uint64(len(name))) // literal with literal name
		b = append(b, name...)
	}
	b = appendPrefixInt(b, 7, 0, uint64(len(value)))
	return append(b, value...)
}

// appendSection appends a field section: status (0: none, for trailers) and the
// fields of h that skip does not exclude.
func appendSection(b []byte, status int, h http.Header, skip func(string) bool) []byte {
	b = append(b, 0, 0) // Required Insert Count 0, Delta Base 0 (RFC 9204 section 4.5.1)
	if status != 0 {
		b = appendField(b, ":status", statusText(status))
	}
	for k, vv := range h {
		if skip(k) {
			continue
		}
		name := lowerKey(k)
		for _, v := range vv {
			b = appendField(b, name, v)
		}
	}
	return b
}

// headersFrame appends to dst a HEADERS frame with appendSection's section.
func headersFrame(dst []byte, status int, h http.Header, skip func(string) bool) []byte {
	var scratch [512]byte
	sec := appendSection(scratch[:0], status, h, skip)
	dst = appendFrameHeader(dst, frameHeaders, uint64(len(sec)))
	return append(dst, sec...)
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

// connectionSpecific reports whether k is a header HTTP/3 forbids (RFC 9114 section
// 4.2): never sent.
func connectionSpecific(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}
