//go:build !linux

package edge

import "net"

// newRawListener: accepting raw is Linux's (rawaccept_linux.go).
func newRawListener(ln net.Listener, use func() bool) net.Listener { return ln }

// plainConn returns c: there are no raw connections here.
func plainConn(c net.Conn) (net.Conn, error) { return c, nil }
