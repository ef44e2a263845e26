package edgetest

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// RawBackend is a misbehaving upstream on a real TCP socket: serve gets each connection
// after its request headers were read, and the connection is closed when serve returns.
// The listener closes, and RawBackend waits for every serve to return, when the test ends.
func RawBackend(t testing.TB, serve func(c net.Conn, br *bufio.Reader, r *http.Request)) *url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				r, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				serve(c, br, r)
			}()
		}
	}()
	return &url.URL{Scheme: "http", Host: l.Addr().String()}
}
