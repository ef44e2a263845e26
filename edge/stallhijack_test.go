package edge

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// TestUpgradedConnectionOutlivesWriteTimeout: a connection upgraded (hijacked) has no
// deadline left from the request it was upgraded by, as with net/http: with a
// WriteTimeout shorter than the connection's life, the echo still comes back once it has
// passed, the write byte timeout bounding each write alone.
func TestUpgradedConnectionOutlivesWriteTimeout(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(testenv.EchoUpgrade))
	defer backend.Close()
	const writeTimeout = 2 * time.Second
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, Limits: Limits{WriteTimeout: writeTimeout, WriteByteTimeout: 300 * time.Millisecond}})
	site := testSite(t, "ws", "ws.example.com")
	site.Routes[0].Upstreams = []*url.URL{mustURL(backend.URL)}
	publish(t, srv, 1, site)
	conn := dialTLSName(t, srv, "ws.example.com", "http/1.1")
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: ws.example.com\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	time.Sleep(writeTimeout + 500*time.Millisecond)
	io.WriteString(conn, "hello\n")
	if line, err := br.ReadString('\n'); line != "echo hello\n" {
		t.Fatalf("after WriteTimeout, through the upgraded connection: %q, %v; want %q", line, err, "echo hello\n")
	}
}
