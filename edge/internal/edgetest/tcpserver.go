package edgetest

import (
	"net"
	"testing"
)

// TCPServer listens on loopback and runs serve on each connection it accepts (closing the
// connection when serve returns) until the test ends; it returns the listener's address.
func TCPServer(t testing.TB, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}
