package passthrough

import (
	"encoding/binary"
	"net"
)

// proxyV2Signature is the 12-byte signature opening every PROXY protocol v2 header.
var proxyV2Signature = [12]byte{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A}

// PROXY v2 header fields (haproxy.org/download/2.6/doc/proxy-protocol.txt, section 2.2).
const (
	proxyV2Proxy = 0x21 // version 2, command PROXY
	proxyV2Local = 0x20 // version 2, command LOCAL: no addresses
	proxyTCP4    = 0x11 // AF_INET, STREAM
	proxyTCP6    = 0x21 // AF_INET6, STREAM
)

// AppendProxyV2 appends a PROXY protocol v2 header to dst announcing a TCP connection from
// client to local (the address the client connected to). Both must be *net.TCPAddr of the
// same family (an IPv4-mapped IPv6 address counts as IPv4); otherwise the header carries
// the LOCAL command and no address, which the receiver must accept (spec, section 2.2).
func AppendProxyV2(dst []byte, client, local net.Addr) []byte {
	dst = append(dst, proxyV2Signature[:]...)
	c, ok1 := client.(*net.TCPAddr)
	l, ok2 := local.(*net.TCPAddr)
	if !ok1 || !ok2 {
		return append(dst, proxyV2Local, 0, 0, 0)
	}
	if c4, l4 := c.IP.To4(), l.IP.To4(); c4 != nil && l4 != nil {
		dst = append(dst, proxyV2Proxy, proxyTCP4, 0, 12)
		dst = append(dst, c4...)
		dst = append(dst, l4...)
	} else if c16, l16 := c.IP.To16(), l.IP.To16(); c4 == nil && l4 == nil && c16 != nil && l16 != nil {
		dst = append(dst, proxyV2Proxy, proxyTCP6, 0, 36)
		dst = append(dst, c16...)
		dst = append(dst, l16...)
	} else {
		return append(dst, proxyV2Local, 0, 0, 0)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(c.Port))
	return binary.BigEndian.AppendUint16(dst, uint16(l.Port))
}
