package edge

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// proxyV2 builds a version 2 header: command (0 LOCAL, 1 PROXY), family, addresses and
// TLV bytes.
func proxyV2(cmd, fam byte, addrs []byte, tlvs []byte) []byte {
	b := append([]byte{}, proxyV2Sig...)
	b = append(b, 0x20|cmd, fam, 0, 0)
	binary.BigEndian.PutUint16(b[14:], uint16(len(addrs)+len(tlvs)))
	return append(append(b, addrs...), tlvs...)
}

// v2Addrs is the address block of src and dst (both IPv4 or both IPv6).
func v2Addrs(src, dst netip.AddrPort) []byte {
	b := append(src.Addr().AsSlice(), dst.Addr().AsSlice()...)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

func TestParseProxyHeader(t *testing.T) {
	t.Parallel()
	src4, dst4 := netip.MustParseAddrPort("198.51.100.7:40000"), netip.MustParseAddrPort("192.0.2.1:443")
	src6, dst6 := netip.MustParseAddrPort("[2001:db8::7]:40000"), netip.MustParseAddrPort("[2001:db8::1]:443")
	tlv := []byte{0x01, 0x00, 0x02, 'h', '2'} // ALPN
	for _, tc := range []struct {
		name     string
		in       string
		n        int // 0: need more (err nil) or error
		src, dst netip.AddrPort
		local    bool
		err      error
	}{
		{"v1 tcp4", "PROXY TCP4 198.51.100.7 192.0.2.1 40000 443\r\nGET", 45, src4, dst4, false, nil},
		{"v1 tcp6", "PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n", 46, src6, dst6, false, nil},
		{"v1 unknown", "PROXY UNKNOWN\r\n", 15, netip.AddrPort{}, netip.AddrPort{}, true, nil},
		{"v1 unknown with junk", "PROXY UNKNOWN x y z\r\n", 21, netip.AddrPort{}, netip.AddrPort{}, true, nil},
		{"v1 partial", "PROXY TCP4 198.51", 0, netip.AddrPort{}, netip.AddrPort{}, false, nil},
		{"v1 prefix partial", "PRO", 0, netip.AddrPort{}, netip.AddrPort{}, false, nil},
		{"not a header (TLS)", "\x16\x03\x01\x02\x00", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyNotHeader},
		{"not a header (HTTP)", "GET / HTTP/1.1\r\n", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyNotHeader},
		{"v1 LF only", "PROXY TCP4 198.51.100.7 192.0.2.1 40000 443\n", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v1 family mismatch", "PROXY TCP4 2001:db8::7 2001:db8::1 40000 443\r\n", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v1 mapped in tcp4", "PROXY TCP4 ::ffff:1.2.3.4 192.0.2.1 40000 443\r\n", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v1 port too big", "PROXY TCP4 198.51.100.7 192.0.2.1 65536 443\r\n", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v1 port leading zero", "PROXY TCP4 198.51.100.7 192.0.2.1 040000 443\r\n", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v1 double space", "PROXY TCP4  198.51.100.7 192.0.2.1 40000 443\r\n", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v1 zone", "PROXY TCP6 fe80::1%eth0 2001:db8::1 40000 443\r\n", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v1 udp", "PROXY UDP4 198.51.100.7 192.0.2.1 40000 443\r\n", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v1 too long", "PROXY UNKNOWN " + strings.Repeat("x", 200), 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyTooLarge},
		{"v2 tcp4", string(proxyV2(1, 0x11, v2Addrs(src4, dst4), nil)) + "rest", 28, src4, dst4, false, nil},
		{"v2 tcp6 tlv", string(proxyV2(1, 0x21, v2Addrs(src6, dst6), tlv)), 16 + 36 + 5, src6, dst6, false, nil},
		{"v2 local", string(proxyV2(0, 0x00, nil, nil)), 16, netip.AddrPort{}, netip.AddrPort{}, true, nil},
		{"v2 unspec", string(proxyV2(1, 0x00, nil, nil)), 16, netip.AddrPort{}, netip.AddrPort{}, true, nil},
		{"v2 partial sig", string(proxyV2Sig[:5]), 0, netip.AddrPort{}, netip.AddrPort{}, false, nil},
		{"v2 partial body", string(proxyV2(1, 0x11, v2Addrs(src4, dst4), nil)[:20]), 0, netip.AddrPort{}, netip.AddrPort{}, false, nil},
		{"v2 bad version", "\r\n\r\n\x00\r\nQUIT\n\x11\x11\x00\x00", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v2 bad command", "\r\n\r\n\x00\r\nQUIT\n\x22\x11\x00\x00", 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v2 udp", string(proxyV2(1, 0x12, v2Addrs(src4, dst4), nil)), 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v2 short addresses", string(proxyV2(1, 0x21, v2Addrs(src4, dst4), nil)), 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v2 broken tlv", string(proxyV2(1, 0x11, v2Addrs(src4, dst4), []byte{1, 0, 9, 'x'})), 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyInvalid},
		{"v2 oversized", string(proxyV2(1, 0x11, v2Addrs(src4, dst4), append([]byte{0x04, 0x04, 0x00}, make([]byte, 1024)...))[:16]), 0, netip.AddrPort{}, netip.AddrPort{}, false, errProxyTooLarge},
	} {
		n, h, err := parseProxyHeader([]byte(tc.in))
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: error %v; want %v", tc.name, err, tc.err)
			continue
		}
		if n != tc.n || h.src != tc.src || h.dst != tc.dst || h.local != tc.local {
			t.Errorf("%s: %d %+v; want %d src %v dst %v local %v", tc.name, n, h, tc.n, tc.src, tc.dst, tc.local)
		}
	}
}

// FuzzParseProxyHeader: the parser never panics, never claims more bytes than it was
// given or a header can hold, and is consistent: a complete header parses the same with
// bytes after it, and a prefix of it asks for more rather than failing.
func FuzzParseProxyHeader(f *testing.F) {
	src, dst := netip.MustParseAddrPort("198.51.100.7:40000"), netip.MustParseAddrPort("192.0.2.1:443")
	f.Add([]byte("PROXY TCP4 198.51.100.7 192.0.2.1 40000 443\r\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::7 2001:db8::1 1 2\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(proxyV2(1, 0x11, v2Addrs(src, dst), []byte{1, 0, 2, 'h', '2'}))
	f.Add(proxyV2(0, 0, nil, nil))
	f.Add(proxyV2(1, 0x31, make([]byte, 216), nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, h, err := parseProxyHeader(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with length %d", err, n)
			}
			return
		}
		if n > len(b) || n > proxyV2Fixed+maxProxyV2Body {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		if n == 0 {
			return
		}
		if !h.local && (!h.src.IsValid() || !h.dst.IsValid()) {
			t.Fatalf("header without addresses: %+v", h)
		}
		n2, h2, err2 := parseProxyHeader(append(b[:n:n], "trailing"...))
		if err2 != nil || n2 != n || h2 != h {
			t.Fatalf("with bytes after it: %d %+v %v; want %d %+v", n2, h2, err2, n, h)
		}
		for i := range n {
			if m, _, err := parseProxyHeader(b[:i]); m != 0 || err != nil {
				t.Fatalf("prefix of %d bytes: %d, %v; want a request for more", i, m, err)
			}
		}
	})
}
