package edge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// recConn records the writes made to it; a write fails with fail once set.
type recConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
	fail   error
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func (c *recConn) SetWriteDeadline(time.Time) error { return nil }
func (c *recConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recConn) SetDeadline(time.Time) error      { return nil }
func (c *recConn) Close() error                     { return nil }

func (c *recConn) got() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// TestWriteBatch: while a batch is on, writes are held and leave in order as one write
// when it ends, or when a deadline is set or the connection closes (net/http's steps once a
// response is written); maxBatch bytes leave at once; a failed write is returned by the
// end of the batch and by every later Write.
func TestWriteBatch(t *testing.T) {
	rc := &recConn{}
	c := &helloConn{Conn: rc}
	c.Write([]byte("a"))
	c.startBatch()
	c.Write([]byte("b"))
	c.Write([]byte("c"))
	if n := len(rc.got()); n != 1 {
		t.Fatalf("%d writes during the batch reached the connection; want only the one before it", n)
	}
	if err := c.endBatch(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("d"))
	if got := fmt.Sprintf("%q", rc.got()); got != `["a" "bc" "d"]` {
		t.Errorf("writes %s; want [a bc d]", got)
	}

	for name, end := range map[string]func(){
		"SetWriteDeadline": func() { c.SetWriteDeadline(time.Time{}) },
		"SetReadDeadline":  func() { c.SetReadDeadline(time.Time{}) },
		"SetDeadline":      func() { c.SetDeadline(time.Time{}) },
		"Close":            func() { c.Close() },
	} {
		rc.writes = nil
		c.startBatch()
		c.Write([]byte("e"))
		end()
		if got := fmt.Sprintf("%q", rc.got()); got != `["e"]` {
			t.Errorf("%s: writes %s; want [e]", name, got)
		}
		if c.batching.Load() {
			t.Errorf("%s: still batching", name)
		}
	}

	rc.writes = nil
	c.startBatch()
	big := make([]byte, maxBatch/2+1)
	c.Write(big)
	c.Write(big)
	if w := rc.got(); len(w) != 1 || len(w[0]) != 2*len(big) {
		t.Errorf("%d writes after %d bytes; want one of them all", len(w), 2*len(big))
	}
	c.endBatch()

	broken := errors.New("broken pipe")
	c.startBatch()
	c.Write([]byte("f"))
	rc.fail = broken
	if err := c.endBatch(); !errors.Is(err, broken) {
		t.Errorf("endBatch: %v; want %v", err, broken)
	}
	rc.fail = nil
	if _, err := c.Write([]byte("g")); !errors.Is(err, broken) {
		t.Errorf("Write after a failed batch: %v; want %v", err, broken)
	}
}

// h1Upstream serves n bytes of a fixed pattern on /N, with Content-Length, and on /slow
// slowSize bytes of which the first half comes at once and the rest after release.
func h1Upstream(t testing.TB, release <-chan struct{}) *url.URL {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			w.Header().Set("Content-Length", strconv.Itoa(slowSize))
			w.Write(bodyPattern(slowSize / 2))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			w.Write(bodyPattern(slowSize / 2))
			return
		}
		n, err := strconv.Atoi(r.URL.Path[1:])
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Header().Set("X-Size", strconv.Itoa(n))
		w.Write(bodyPattern(n))
	}))
	t.Cleanup(s.Close)
	return mustURL(s.URL)
}

const slowSize = 256 << 10

func bodyPattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// startH1Proxy serves a site h1.test proxying to up, and returns its address.
func startH1Proxy(t testing.TB, up *url.URL) string { return startH1ProxyOn(t, up, "") }

// startH1ProxyOn is startH1Proxy with Options.HTTP1 = http1.
func startH1ProxyOn(t testing.TB, up *url.URL, http1 string) string {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, HTTP3: HTTP3Options{Disabled: true}, HTTP1: http1})
	s := testSite(t, "h1", "h1.test")
	s.Routes = []site.Route{{Path: "/", Upstreams: []*url.URL{up}}}
	publish(t, srv, 1, s)
	return srv.Addr().String()
}

func dialH1(t testing.TB, addr string) *tls.Conn {
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca(t).Pool(), ServerName: "h1.test", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawResponses sends the requests on one HTTP/1.1 connection, one after the other or all at
// once (pipelined), and returns the bytes of each response, head and body, with the Date
// header's value blanked.
func rawResponses(t *testing.T, addr string, reqs []string, pipelined bool) []string {
	c := dialH1(t, addr)
	c.SetDeadline(time.Now().Add(time.Minute)) // a broken response fails, not hangs
	br := bufio.NewReader(c)
	var out []string
	date := regexp.MustCompile(`(?m)^Date: .*\r$`)
	send := func(req string) {
		method, path, _ := bytesCut(req)
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: h1.test\r\nUser-Agent: t\r\n\r\n", method, path)
	}
	if pipelined {
		go func() {
			for _, req := range reqs {
				send(req)
			}
		}()
	}
	for _, req := range reqs {
		method, _, _ := bytesCut(req)
		if !pipelined {
			send(req)
		}
		var raw bytes.Buffer
		res, err := http.ReadResponse(bufio.NewReader(io.TeeReader(br, &raw)), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%s: %v", req, err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			t.Fatalf("%s: body: %v", req, err)
		}
		out = append(out, date.ReplaceAllString(raw.String(), "Date: -\r"))
	}
	return out
}

func bytesCut(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// TestH1BatchSameBytes is the differential test of batching: over HTTP/1.1 keep-alive,
// bodies of every size around net/http's buffers (2 and 4 KiB), a TLS record (16 KiB),
// the proxy's copy buffer (32 KiB) and the batch limit come byte for byte as without
// batching, heads included, and so do HEAD requests and a 404, one request after the other
// and pipelined (the batch left on after a response leaves when net/http is done with it,
// whether or not the next request is already read).
func TestH1BatchSameBytes(t *testing.T) {
	up := h1Upstream(t, nil)
	var reqs []string
	for _, n := range []int{0, 15, 2047, 4095, 4096, 4097, 5000, 8192, 16384, 32769, 65536, maxBatch + 1, 300000} {
		reqs = append(reqs, "GET /"+strconv.Itoa(n))
	}
	reqs = append(reqs, "HEAD /65536", "GET /nope", "GET /8192")
	addr := startH1Proxy(t, up)
	for _, pipelined := range []bool{false, true} {
		plainHTTP1Writes.Store(true)
		want := rawResponses(t, addr, reqs, pipelined)
		plainHTTP1Writes.Store(false)
		got := rawResponses(t, addr, reqs, pipelined)
		for i := range reqs {
			if got[i] != want[i] {
				t.Errorf("%s (pipelined %v): batched response differs (%d bytes; %d without batching):\n%.300q\nwant\n%.300q",
					reqs[i], pipelined, len(got[i]), len(want[i]), got[i], want[i])
			}
		}
	}
}

// TestH1BatchSlowUpstream: a batch holds nothing back while the upstream is slow to send
// the rest of a body: the client gets the first half (less what net/http's own buffers,
// 6 KiB, may hold) before the upstream sends the second.
func TestH1BatchSlowUpstream(t *testing.T) {
	release := make(chan struct{})
	up := h1Upstream(t, release)
	c := dialH1(t, startH1Proxy(t, up))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		<-ctx.Done()
		c.SetDeadline(time.Now()) // fail the reads below instead of hanging
	}()
	fmt.Fprintf(c, "GET /slow HTTP/1.1\r\nHost: h1.test\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := slowSize/2 - 6<<10
	if _, err := io.ReadFull(res.Body, make([]byte, first)); err != nil {
		t.Fatalf("reading the first %d bytes before the upstream sent the rest: %v", first, err)
	}
	close(release)
	rest, err := io.ReadAll(res.Body)
	if err != nil || first+len(rest) != slowSize {
		t.Fatalf("body: %d bytes, %v; want %d", first+len(rest), err, slowSize)
	}
}
