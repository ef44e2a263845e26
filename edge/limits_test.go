package edge

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/edgectl/edge/edge/site"
)

// dialTLS opens a TLS connection to the server with SNI shop.example.com.
func dialTLS(t testing.TB, srv *Server, alpn string) *tls.Conn {
	t.Helper()
	return dialTLSName(t, srv, "shop.example.com", alpn)
}

// dialTLSName opens a TLS connection to the server with SNI name and one ALPN protocol.
func dialTLSName(t testing.TB, srv *Server, name, alpn string) *tls.Conn {
	t.Helper()
	cfg := clientTLS(t, name)
	cfg.NextProtos = []string{alpn}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// closedWithin reports whether the server closes conn within d (reads return an error
// other than a timeout), draining anything it sends.
func closedWithin(conn net.Conn, d time.Duration) bool {
	conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

func TestSlowloris(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, Limits: Limits{ReadHeaderTimeout: 300 * time.Millisecond}})
	shop, _, _ := routingSites(t)
	publish(t, srv, 1, shop)

	t.Run("slow headers", func(t *testing.T) {
		conn := dialTLS(t, srv, "http/1.1")
		start := time.Now()
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: shop.example.com\r\n")
		var writeErr error
		for i := 0; i < 40 && writeErr == nil; i++ { // one header byte every 50ms, for up to 2s
			_, writeErr = io.WriteString(conn, "X")
			time.Sleep(50 * time.Millisecond)
		}
		if !closedWithin(conn, 2*time.Second) {
			t.Fatal("server kept a slowloris connection open")
		}
		t.Logf("slow-header connection closed after %v (ReadHeaderTimeout 300ms)", time.Since(start).Round(time.Millisecond))
	})
	t.Run("no handshake", func(t *testing.T) {
		conn, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		if !closedWithin(conn, 3*time.Second) {
			t.Fatal("server kept a silent TCP connection open")
		}
		t.Logf("silent connection closed after %v", time.Since(start).Round(time.Millisecond))
	})
}

func TestHeaderBombHTTP1(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	shop, _, _ := routingSites(t)
	publish(t, srv, 1, shop)
	conn := dialTLS(t, srv, "http/1.1")
	bomb := "GET / HTTP/1.1\r\nHost: shop.example.com\r\nX-Bomb: " + strings.Repeat("a", 200<<10) + "\r\n\r\n"
	go io.WriteString(conn, bomb) // the server may stop reading: do not block on it
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("200 KiB header = %d; want 431", resp.StatusCode)
	}
}

// h2conn is a raw HTTP/2 client connection for abuse tests.
type h2conn struct {
	conn     *tls.Conn
	fr       *http2.Framer
	enc      *hpack.Encoder
	buf      bytes.Buffer
	wmu      sync.Mutex // serializes frame writes
	mu       sync.Mutex
	statuses map[uint32]string
	goAway   *http2.GoAwayFrame
	done     chan struct{} // closed when the connection is closed
}

func newH2Conn(t testing.TB, srv *Server) *h2conn {
	c := &h2conn{conn: dialTLS(t, srv, "h2"), statuses: map[uint32]string{}, done: make(chan struct{})}
	if c.conn.ConnectionState().NegotiatedProtocol != "h2" {
		t.Fatal("h2 not negotiated")
	}
	io.WriteString(c.conn, http2.ClientPreface)
	c.fr = http2.NewFramer(c.conn, c.conn)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.buf)
	if err := c.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	// The server's SETTINGS come first; ack them before any test traffic, so the read
	// loop never needs the write lock while a test write is blocked.
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if f, err := c.fr.ReadFrame(); err != nil {
		t.Fatal(err)
	} else if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
		t.Fatalf("first server frame %v; want SETTINGS", f)
	}
	c.conn.SetReadDeadline(time.Time{})
	if err := c.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	go c.readLoop()
	return c
}

func (c *h2conn) readLoop() {
	defer close(c.done)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return
		}
		c.mu.Lock()
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				go func() {
					c.wmu.Lock()
					defer c.wmu.Unlock()
					c.fr.WriteSettingsAck()
				}()
			}
		case *http2.MetaHeadersFrame:
			c.statuses[f.StreamID] = f.PseudoValue("status")
		case *http2.GoAwayFrame:
			c.goAway = f
		}
		c.mu.Unlock()
	}
}

// headers returns an encoded header block for GET path plus extra headers.
func (c *h2conn) headers(path string, extra ...hpack.HeaderField) []byte {
	c.buf.Reset()
	for _, f := range append([]hpack.HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "shop.example.com"}, {Name: ":path", Value: path},
	}, extra...) {
		c.enc.WriteField(f)
	}
	return bytes.Clone(c.buf.Bytes())
}

func (c *h2conn) status(id uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statuses[id]
}

func TestHeaderBombHTTP2(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	shop, _, _ := routingSites(t)
	publish(t, srv, 1, shop)
	c := newH2Conn(t, srv)
	var extra []hpack.HeaderField
	for i := range 200 { // 200 x 1 KiB, uncompressible: over the 64 KiB limit
		extra = append(extra, hpack.HeaderField{Name: "x-bomb", Value: strings.Repeat(string(rune('a'+i%26)), 1024) + string(rune('A'+i/26))})
	}
	block := c.headers("/", extra...)
	const chunk = 16 << 10
	c.wmu.Lock()
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:chunk], EndStream: true})
	for rest := block[chunk:]; err == nil && len(rest) > 0; {
		n := min(chunk, len(rest))
		err = c.fr.WriteContinuation(1, n == len(rest), rest[:n])
		rest = rest[n:]
	}
	c.wmu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st := c.status(1); st != "" {
			if st != "431" {
				t.Errorf("header bomb answered %s; want 431", st)
			}
			t.Logf("%d KiB header block answered %s", len(block)>>10, st)
			return
		}
		select {
		case <-c.done:
			t.Logf("%d KiB header block: connection closed by the server", len(block)>>10)
			return // bounded as well
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no answer to a %d KiB header block (write error %v)", len(block)>>10, err)
}

func TestRapidReset(t *testing.T) {
	const maxStreams = 10
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, Limits: Limits{MaxConcurrentStreams: maxStreams}})
	// A handler that ignores cancellation for a while, the worst case for rapid reset.
	var running, peak, started atomic.Int64
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Add(1)
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		running.Add(-1)
	})
	shop := testSite(t, "shop", "shop.example.com")
	snap, err := newSnapshot(1, "", []*Site{shop}, func(*Site, *site.Route) (http.Handler, error) { return slow, nil })
	if err != nil {
		t.Fatal(err)
	}
	srv.swap(snap)

	c := newH2Conn(t, srv)
	block := c.headers("/")
	const attempts = 5000
	sent := 0
	var werr error
	for i := range attempts {
		id := uint32(2*i + 1)
		c.wmu.Lock()
		werr = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true})
		if werr == nil {
			werr = c.fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}
		c.wmu.Unlock()
		if werr != nil {
			break
		}
		sent++
	}
	_ = werr // the server may close the connection while we write: expected
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
	c.mu.Lock()
	goAway := c.goAway
	c.mu.Unlock()
	goAwayCode := "none"
	if goAway != nil {
		goAwayCode = goAway.ErrCode.String()
	}
	t.Logf("rapid reset: %d HEADERS+RST_STREAM pairs sent, %d handlers started, peak %d concurrent, GOAWAY %s",
		sent, started.Load(), peak.Load(), goAwayCode)
	if p := peak.Load(); p > maxStreams {
		t.Errorf("peak concurrent handlers on one connection = %d; want <= MaxConcurrentStreams %d", p, maxStreams)
	}
	if goAway == nil || goAway.ErrCode != http2.ErrCodeEnhanceYourCalm {
		t.Errorf("GOAWAY = %v; want ENHANCE_YOUR_CALM", goAway)
	}
	if started.Load() >= attempts/10 {
		t.Errorf("%d handlers started for %d reset streams; want the connection cut early", started.Load(), sent)
	}
	// The server still serves others.
	if status, _, _ := get(t, httpClient(t, srv.Addr(), false), "https://shop.example.com/"); status != 200 {
		t.Errorf("after the attack: %d; want 200", status)
	}
}

func TestMaxConns(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, Limits: Limits{MaxConns: 2}})
	shop, _, _ := routingSites(t)
	publish(t, srv, 1, shop)
	a := dialTLS(t, srv, "http/1.1")
	dialTLS(t, srv, "http/1.1")
	// The third connection is accepted by the kernel but not served until a slot frees.
	raw, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	third := tls.Client(raw, clientTLS(t, "shop.example.com"))
	raw.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if err := third.Handshake(); err == nil {
		t.Fatal("third connection served beyond MaxConns 2")
	}
	// A fresh attempt succeeds once one of the two (and the refused attempt, which would
	// take the freed slot) is closed.
	raw.Close()
	a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", srv.Addr().String(), clientTLS(t, "shop.example.com"))
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection served after one closed: %v", err)
		}
	}
}

// TestParseHTTP2Server: the names of the HTTP/2 servers, empty meaning Go's.
func TestParseHTTP2Server(t *testing.T) {
	for in, want := range map[string]HTTP2Server{"": HTTP2ServerEdge, "go": HTTP2ServerGo, "edge": HTTP2ServerEdge} {
		if got, err := ParseHTTP2Server(in); got != want || err != nil {
			t.Errorf("ParseHTTP2Server(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseHTTP2Server("Edge"); err == nil {
		t.Error(`ParseHTTP2Server("Edge"): no error`)
	}
	if got := (Limits{}).withDefaults().HTTP2Server; got != HTTP2ServerEdge {
		t.Errorf("default HTTP2Server = %q, want %q", got, HTTP2ServerEdge)
	}
}
