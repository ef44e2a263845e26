package edge

import (
	"bufio"
	"context"
	"crypto/tls"
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
