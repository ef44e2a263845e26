package edgetest

import (
	"bytes"
	"net"
	"net/url"
	"testing"
)

// CannedUpstream starts an HTTP/1.1 keep-alive upstream that answers every request head it
// reads (requests without a body) with resp, allocating nothing per request, so the
// allocations a benchmark counts are the proxy's. It serves until the test ends.
func CannedUpstream(t testing.TB, resp string) *url.URL {
	t.Helper()
	res := []byte(resp)
	addr := TCPServer(t, func(c net.Conn) { serveCanned(c, res) })
	return &url.URL{Scheme: "http", Host: addr}
}

// serveCanned writes res once for each request head read from c, until c fails or a head
// outgrows the buffer.
func serveCanned(c net.Conn, res []byte) {
	buf := make([]byte, 16<<10)
	have := 0
	for have < len(buf) {
		n, err := c.Read(buf[have:])
		if err != nil {
			return
		}
		have += n
		for {
			i := bytes.Index(buf[:have], []byte("\r\n\r\n"))
			if i < 0 {
				break
			}
			if _, err := c.Write(res); err != nil {
				return
			}
			have = copy(buf, buf[i+4:have])
		}
	}
}
