package edge

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/internal/edgetest"
)

// TestProxySlowBodyIsNotHeld: a proxied response of known length whose upstream sends the
// head and the first bytes of the body, then waits, reaches the client up to those bytes
// before the upstream sends the rest: what the proxy wrote does not sit in the HTTP/1.1
// loop's buffers (or a write batch) until more comes. The upstream sends the rest only
// once the client has read the first bytes (a handshake, no timing); a server that held
// them fails with the client's timeout. Bodies below and above the batching threshold.
func TestProxySlowBodyIsNotHeld(t *testing.T) {
	for _, size := range []struct{ first, total int }{{5, 10}, {6 << 10, 64 << 10}} {
		t.Run(fmt.Sprint(size.total), func(t *testing.T) {
			first := strings.Repeat("f", size.first)
			rest := strings.Repeat("r", size.total-size.first)
			more := make(chan struct{})
			up := edgetest.RawBackend(t, func(c net.Conn, _ *bufio.Reader, _ *http.Request) {
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", size.total, first)
				select {
				case <-more:
					io.WriteString(c, rest)
				case <-t.Context().Done():
				}
			})
			srv, _ := faultServer(t, up, nil)
			res, err := httpClient(t, srv.Addr(), true).Get("https://shop.example.com/")
			if err != nil {
				t.Fatalf("the head did not come before the rest of the body: %v", err)
			}
			defer res.Body.Close()
			buf := make([]byte, size.first)
			if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != first {
				t.Fatalf("the first bytes did not come before the rest: %v", err)
			}
			close(more)
			b, err := io.ReadAll(res.Body)
			if err != nil || string(b) != rest {
				t.Errorf("rest of the body: %d bytes, %v; want %d", len(b), err, len(rest))
			}
		})
	}
}
