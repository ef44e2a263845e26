package edge

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
)

// The PROXY protocol header (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt),
// versions 1 (text) and 2 (binary), read by a parser of our own: no module served here
// implements it, and the part edge needs (the addresses; TLVs are checked for shape and
// skipped) is small enough to be read strictly and fuzzed (FuzzParseProxyHeader).

// proxyV2Sig starts every version 2 header.
var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

const (
	// maxProxyV1 is the longest version 1 line, CRLF included (the specification's).
	maxProxyV1 = 107
	// maxProxyV2Body caps what follows a version 2 header's 16 bytes: the addresses (at
	// most 216 bytes, for UNIX sockets) and TLVs. Larger headers are refused: load
	// balancers send a few TLVs (AWS NLB: its VPC endpoint; HAProxy: ALPN, authority,
	// TLS details), well under this.
	maxProxyV2Body = 1024
	// proxyV2Fixed is the fixed part of a version 2 header.
	proxyV2Fixed = 16
)

// Errors of parseProxyHeader, wrapped by the connection's error.
var (
	errProxyNotHeader = errors.New("not a PROXY protocol header")
	errProxyInvalid   = errors.New("malformed PROXY protocol header")
	errProxyTooLarge  = errors.New("PROXY protocol header too large")
)

// proxyHeader is what a header says: the client's (src) and the address it connected to
// (dst). local means the connection's own addresses stand (v2 LOCAL, a health check;
// UNKNOWN; an address family other than TCP over IPv4 or IPv6).
type proxyHeader struct {
	src, dst netip.AddrPort
	local    bool
}

// parseProxyHeader parses the PROXY header at the start of b. It returns the header's
// length, or 0 and a nil error if b is a valid beginning of a header that needs more
// bytes; any other beginning is an error. It never reads past what a header may hold:
// maxProxyV1 bytes, or proxyV2Fixed+maxProxyV2Body.
func parseProxyHeader(b []byte) (n int, h proxyHeader, err error) {
	if len(b) == 0 {
		return 0, h, nil
	}
	if b[0] == proxyV2Sig[0] {
		return parseProxyV2(b)
	}
	return parseProxyV1(b)
}

// parseProxyV1 parses "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n".
func parseProxyV1(b []byte) (int, proxyHeader, error) {
	var h proxyHeader
	const prefix = "PROXY "
	if k := min(len(b), len(prefix)); string(b[:k]) != prefix[:k] {
		return 0, h, errProxyNotHeader
	}
	end := bytes.IndexByte(b[:min(len(b), maxProxyV1)], '\n')
	if end < 0 {
		if len(b) >= maxProxyV1 {
			return 0, h, errProxyTooLarge
		}
		return 0, h, nil
	}
	if end < len(prefix)+1 || b[end-1] != '\r' {
		return 0, h, errProxyInvalid
	}
	fields := bytes.Split(b[len(prefix):end-1], []byte{' '})
	switch string(fields[0]) {
	case "UNKNOWN": // the rest, whatever it is, is ignored
		h.local = true
		return end + 1, h, nil
	case "TCP4", "TCP6":
	default:
		return 0, h, errProxyInvalid
	}
	if len(fields) != 5 {
		return 0, h, errProxyInvalid
	}
	v6 := fields[0][3] == '6'
	src, ok1 := parseV1Addr(fields[1], fields[3], v6)
	dst, ok2 := parseV1Addr(fields[2], fields[4], v6)
	if !ok1 || !ok2 {
		return 0, h, errProxyInvalid
	}
	h.src, h.dst = src, dst
	return end + 1, h, nil
}

// parseV1Addr parses an address and a decimal port of a version 1 header: the address of
// the declared family, the port without sign or leading zero.
func parseV1Addr(addr, port []byte, v6 bool) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(string(addr))
	if err != nil || a.Zone() != "" || a.Is6() != v6 || (v6 && bytes.IndexByte(addr, ':') < 0) {
		return netip.AddrPort{}, false
	}
	if len(port) == 0 || len(port) > 5 || (port[0] == '0' && len(port) > 1) {
		return netip.AddrPort{}, false
	}
	p := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return netip.AddrPort{}, false
		}
		p = p*10 + int(c-'0')
	}
	if p > 65535 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, uint16(p)), true
}

// parseProxyV2 parses a binary header: signature, version and command, family and
// protocol, length, addresses, TLVs.
func parseProxyV2(b []byte) (int, proxyHeader, error) {
	var h proxyHeader
	if k := min(len(b), len(proxyV2Sig)); !bytes.Equal(b[:k], proxyV2Sig[:k]) {
		return 0, h, errProxyNotHeader
	}
	if len(b) < proxyV2Fixed {
		return 0, h, nil
	}
	verCmd, fam := b[12], b[13]
	size := int(binary.BigEndian.Uint16(b[14:16]))
	if verCmd>>4 != 2 || verCmd&0xf > 1 {
		return 0, h, errProxyInvalid
	}
	if size > maxProxyV2Body {
		return 0, h, errProxyTooLarge
	}
	n := proxyV2Fixed + size
	if len(b) < n {
		return 0, h, nil
	}
	body := b[proxyV2Fixed:n]
	addrLen := 0
	switch fam {
	case 0x11: // TCP over IPv4
		addrLen = 12
	case 0x21: // TCP over IPv6
		addrLen = 36
	case 0x00: // UNSPEC
	case 0x31, 0x32: // UNIX stream, dgram
		addrLen = 216
	default: // UDP over a TCP connection, or unknown
		if verCmd&0xf == 1 {
			return 0, h, errProxyInvalid
		}
	}
	if len(body) < addrLen || !validTLVs(body[addrLen:]) {
		return 0, h, errProxyInvalid
	}
	if verCmd&0xf == 0 || (fam != 0x11 && fam != 0x21) { // LOCAL, or no IP addresses
		h.local = true
		return n, h, nil
	}
	ipLen := (addrLen - 4) / 2
	src, _ := netip.AddrFromSlice(body[:ipLen])
	dst, _ := netip.AddrFromSlice(body[ipLen : 2*ipLen])
	ports := body[2*ipLen:]
	h.src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(ports[0:2]))
	h.dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(ports[2:4]))
	return n, h, nil
}

// validTLVs reports whether b is a sequence of whole type-length-value records.
func validTLVs(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 3 {
			return false
		}
		l := 3 + int(binary.BigEndian.Uint16(b[1:3]))
		if l > len(b) {
			return false
		}
		b = b[l:]
	}
	return true
}
