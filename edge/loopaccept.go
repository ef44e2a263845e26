package edge

import "net"

// handedConn is a connection an event loop accepted and read the first bytes of
// (loopaccept_linux.go), not passed through there: Accept returns it for earlyListener,
// which takes it on the slow path with rec, what was read, replayed to crypto/tls first.
type handedConn struct {
	net.Conn // a limitConn of a raw connection (passthrough.NewClientConn's kind)
	rec      *[]byte
}
