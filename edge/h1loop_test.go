package edge

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestH1LoopTimeouts: a request header that does not come whole within ReadHeaderTimeout,
// and a connection idle for IdleTimeout, are closed by the loop as by net/http, nothing
// written (the test waits for the timeouts, short ones, and asserts no duration).
func TestH1LoopTimeouts(t *testing.T) {
	goAddr, edgeAddr := diffServersTimed(t, http.HandlerFunc(diffHandler), 300*time.Millisecond, 300*time.Millisecond)
	for name, pieces := range map[string][]string{
		"half request": {"GET /info HTTP/1.1\r\nHost: h1"},
		"idle":         {rawReq("GET", "/small", false)},
		"nothing":      nil,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := exchange(t, goAddr, pieces)
			if got := exchange(t, edgeAddr, pieces); got != want {
				t.Errorf("edge's loop answered\n%q\nnet/http\n%q", got, want)
			}
		})
	}
}

// TestH1LoopShutdown: shutdown closes an idle connection at once, lets a request in
// flight finish, with Connection: close, and returns once it has.
func TestH1LoopShutdown(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			close(arrived)
			<-release
		}
		io.WriteString(w, "done")
	})
	cfg := &tls.Config{Certificates: []tls.Certificate{cert(t, "h1.test")}, NextProtos: []string{"http/1.1"}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	loop := newH1Server(hs, tls.NewListener(ln, cfg), context.Background())
	go hs.Serve(loop.queue)
	go loop.serve()
	dial := func() (*tls.Conn, *bufio.Reader) {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(20 * time.Second))
		return c, bufio.NewReader(c)
	}
	idle, idleR := dial()
	io.WriteString(idle, rawReq("GET", "/small", false))
	if res, err := http.ReadResponse(idleR, nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("idle connection's request: %v %v", res, err)
	} else {
		io.Copy(io.Discard, res.Body)
	}
	busy, busyR := dial()
	io.WriteString(busy, rawReq("GET", "/wait", false))
	<-arrived
	done := make(chan error, 1)
	go func() { done <- loop.shutdown(context.Background()) }()
	if _, err := idleR.ReadByte(); err == nil {
		t.Error("the idle connection is still open after shutdown")
	}
	close(release)
	res, err := http.ReadResponse(busyR, nil)
	if err != nil || !res.Close {
		t.Fatalf("request in flight: %v %v; want a response with Connection: close", res, err)
	}
	body, _ := io.ReadAll(res.Body)
	if string(body) != "done" {
		t.Errorf("body %q", body)
	}
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if _, err := busyR.ReadByte(); err == nil || !strings.Contains(err.Error(), "EOF") && err != io.EOF {
		t.Errorf("the busy connection after its response: %v; want EOF", err)
	}
}

// TestH1LoopProxiesAsNetHTTP: the whole HTTPS server (routing, the proxy, write batching)
// answers the same bytes over edge's loop as over net/http's server (Options.HTTP1 =
// HTTP1Go), kept-alive, pipelined, and with requests handed to net/http.
func TestH1LoopProxiesAsNetHTTP(t *testing.T) {
	up := h1Upstream(t, nil)
	loopAddr, goAddr := startH1ProxyOn(t, up, ""), startH1ProxyOn(t, up, HTTP1Go)
	reqs := []string{"GET /15", "GET /8192", "HEAD /8192", "GET /70000", "GET /missing", "GET /15"}
	for _, pipelined := range []bool{false, true} {
		want := rawResponses(t, goAddr, reqs, pipelined)
		got := rawResponses(t, loopAddr, reqs, pipelined)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("pipelined %v, %s: edge's loop answered\n%.300q\nnet/http\n%.300q", pipelined, reqs[i], got[i], want[i])
			}
		}
	}
	post := []string{"POST /15 HTTP/1.1\r\nHost: h1.test\r\nContent-Length: 3\r\n\r\nabc" + rawReq("GET", "/8192", true)}
	if got, want := exchange(t, loopAddr, post), exchange(t, goAddr, post); got != want {
		t.Errorf("POST then GET: edge's loop answered\n%.300q\nnet/http\n%.300q", got, want)
	}
}

// TestHTTP1Option: Start refuses an unknown Options.HTTP1.
func TestHTTP1Option(t *testing.T) {
	srv := NewServer(Options{Listen: "127.0.0.1:0", HTTPListen: Off, AdminListen: Off, HTTP1: "nginx",
		HTTP3: HTTP3Options{Disabled: true}, Logger: quietLogger})
	if err := srv.Start(context.Background()); !errors.Is(err, errHTTP1) {
		t.Errorf("Start with HTTP1 %q: %v; want %v", "nginx", err, errHTTP1)
	}
	srv.Shutdown(context.Background())
}

// TestH1LoopLateWriteFails: a handler's goroutine writing after the handler returned gets
// an error, and the connection's next responses are not touched by it.
func TestH1LoopLateWriteFails(t *testing.T) {
	write, wrote := make(chan struct{}), make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/leak" {
			w.(http.Flusher).Flush()
			go func() { <-write; _, err := io.WriteString(w, "LEAK"); wrote <- err }()
		}
		io.WriteString(w, "ok")
	})
	_, addr := diffServers(t, h)
	c := dialH1(t, addr)
	br := bufio.NewReader(c)
	get := func(path string) string {
		io.WriteString(c, rawReq("GET", path, false))
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	get("/leak")
	get("/next") // the loop is done with /leak's response: it has read this request
	close(write)
	if err := <-wrote; !errors.Is(err, errWriteAfterRelease) {
		t.Errorf("late write: %v, want errWriteAfterRelease", err)
	}
	if got := get("/last"); got != "ok" {
		t.Errorf("next response's body %q, want ok", got)
	}
}
