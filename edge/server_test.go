package edge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

func TestStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	srv := NewServer(Options{Listen: "127.0.0.1:0", HTTPListen: busy.Addr().String(), AdminListen: Off, Logger: quietLogger})
	if err := srv.Start(context.Background()); err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("Start with a busy port = %v; want an error naming %s", err, busy.Addr())
	}
	if srv.Addr() != nil {
		t.Error("Addr set after a failed Start")
	}
	srv.Shutdown(context.Background())
	if err := srv.Start(context.Background()); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Start after Shutdown = %v; want ErrServerClosed", err)
	}

	ok := startServer(t, Options{})
	if err := ok.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	if ok.Addr() == nil || ok.HTTPAddr() == nil || ok.AdminAddr() == nil {
		t.Error("bound addresses not reported")
	}
	if err := ok.swap(nil); !errors.Is(err, errNilSnapshot) {
		t.Errorf("swap(nil) = %v; want errNilSnapshot", err)
	}
	if err := ok.Publish(1, "", []*Site{nil}); err == nil || ok.Current() != nil {
		t.Errorf("Publish of an invalid site = %v, current %v; want an error and nothing published", err, ok.Current())
	}
}

func TestShutdownDrains(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	}))
	defer backend.Close()
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	site := testSite(t, "slow", "slow.example.com")
	site.Routes[0].Upstreams = []*url.URL{mustURL(backend.URL)}
	publish(t, srv, 1, site)
	c := httpClient(t, srv.Addr(), false)

	result := make(chan string, 1)
	go func() {
		resp, err := c.Get("https://slow.example.com/")
		if err != nil {
			result <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		result <- string(b)
	}()
	<-entered
	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutdown <- srv.Shutdown(ctx)
	}()
	// New connections are refused while the request in flight is still served.
	deadline := time.Now().Add(2 * time.Second)
	for {
		conn, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if got := <-result; got != "finished" {
		t.Errorf("request in flight during shutdown got %q; want finished", got)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAccessLog(t *testing.T) {
	var buf syncBuffer
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, AccessLog: NewAccessLogger(&buf, true)})
	shop, blog, apps := routingSites(t)
	publish(t, srv, 1, shop, blog, apps)
	c := httpClient(t, srv.Addr(), false)
	get(t, c, "https://shop.example.com/api/users?token=secret")
	get(t, c, "https://shop.example.com/", "Host", "blog.example.com")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("access log has %d lines; want 2:\n%s", len(lines), buf.String())
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(lines[1]), &second)
	for k, want := range map[string]any{
		"site": "shop", "host": "shop.example.com", "method": "GET", "path": "/api/users",
		"status": float64(200), "bytes": float64(len("shop-api GET /users")), "proto": "h2",
	} {
		if first[k] != want {
			t.Errorf("access log %s = %v; want %v", k, first[k], want)
		}
	}
	if up, _ := first["upstream"].(string); !strings.HasPrefix(up, "http://127.0.0.1:") {
		t.Errorf("access log upstream = %v", first["upstream"])
	}
	if _, ok := first["duration_ms"].(float64); !ok {
		t.Error("access log has no duration_ms")
	}
	if strings.Contains(lines[0], "secret") {
		t.Error("access log contains the query string")
	}
	if second["site"] != "-" || second["status"] != float64(421) {
		t.Errorf("421 line = %v", second)
	}
}

func TestUpgradeAndStreamingThroughEdge(t *testing.T) {
	step := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "echo" {
			testenv.EchoUpgrade(w, r)
			return
		}
		io.WriteString(w, "first\n")
		http.NewResponseController(w).Flush()
		<-step // only sent once the client has read "first"
		io.WriteString(w, "second\n")
	}))
	defer backend.Close()
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	site := testSite(t, "ws", "ws.example.com")
	site.Routes[0].Upstreams = []*url.URL{mustURL(backend.URL)}
	site.Headers.Set = map[string]string{"X-Edge": "1"}
	publish(t, srv, 1, site)

	t.Run("streaming", func(t *testing.T) {
		c := httpClient(t, srv.Addr(), false)
		resp, err := c.Get("https://ws.example.com/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		line, err := br.ReadString('\n')
		if err != nil || line != "first\n" {
			t.Fatalf("first chunk = %q, %v", line, err)
		}
		close(step)
		if line, _ := br.ReadString('\n'); line != "second\n" {
			t.Errorf("second chunk = %q", line)
		}
		if resp.Header.Get("X-Edge") != "1" {
			t.Error("streamed response lacks the site's header")
		}
	})
	t.Run("upgrade", func(t *testing.T) {
		conn := dialTLSName(t, srv, "ws.example.com", "http/1.1")
		io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: ws.example.com\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 101 {
			t.Fatalf("upgrade = %d; want 101", resp.StatusCode)
		}
		io.WriteString(conn, "hello\n")
		if line, _ := br.ReadString('\n'); line != "echo hello\n" {
			t.Errorf("through the upgraded connection: %q; want %q", line, "echo hello\n")
		}
	})
}

// TestShutdownDrainsUpgradedConnections: upgraded (hijacked) connections, which
// http.Server.Shutdown ignores, keep working while the server drains; Shutdown returns as
// soon as the last one ends, or closes them when its deadline passes.
func TestShutdownDrainsUpgradedConnections(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(testenv.EchoUpgrade))
	defer backend.Close()
	upgrade := func(t *testing.T, srv *Server) (*tls.Conn, *bufio.Reader) {
		conn := dialTLSName(t, srv, "ws.example.com", "http/1.1")
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: ws.example.com\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		return conn, br
	}
	echo := func(conn *tls.Conn, br *bufio.Reader, msg string) error {
		if _, err := io.WriteString(conn, msg+"\n"); err != nil {
			return err
		}
		line, err := br.ReadString('\n')
		if err == nil && line != "echo "+msg+"\n" {
			err = fmt.Errorf("got %q", line)
		}
		return err
	}
	newServer := func(t *testing.T) *Server {
		srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
		site := testSite(t, "ws", "ws.example.com")
		site.Routes[0].Upstreams = []*url.URL{mustURL(backend.URL)}
		publish(t, srv, 1, site)
		return srv
	}

	t.Run("waits for the connection to end", func(t *testing.T) {
		srv := newServer(t)
		conn, br := upgrade(t, srv)
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done <- srv.Shutdown(ctx)
		}()
		time.Sleep(300 * time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned (%v) while an upgraded connection was open", err)
		default:
		}
		if err := echo(conn, br, "still there"); err != nil {
			t.Errorf("upgraded connection during the drain: %v", err)
		}
		conn.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Shutdown = %v; want nil once the connection ended", err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("Shutdown did not return after the last upgraded connection ended")
		}
	})

	t.Run("closes it at the deadline", func(t *testing.T) {
		srv := newServer(t)
		conn, br := upgrade(t, srv)
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := srv.Shutdown(ctx)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v; want the deadline's error", err)
		}
		if d := time.Since(start); d < 350*time.Millisecond || d > 3*time.Second {
			t.Errorf("Shutdown took %v; want about the 400ms deadline", d)
		}
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := br.ReadString('\n'); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read after Shutdown: %v; want the connection closed by the server", err)
		}
	})
}
