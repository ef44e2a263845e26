package h3srv_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/quicvarint"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// blockingServer's handler for /block signals started and waits for release.
type blockingServer struct {
	started chan struct{}
	release chan struct{}
	mu      sync.Mutex
	paths   []string
}

func newBlockingServer() *blockingServer {
	return &blockingServer{started: make(chan struct{}, 8), release: make(chan struct{})}
}

func (b *blockingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.paths = append(b.paths, r.URL.Path)
	b.mu.Unlock()
	if r.URL.Path == "/block" {
		b.started <- struct{}{}
		select {
		case <-b.release:
		case <-r.Context().Done():
			return
		}
	}
	io.WriteString(w, "done")
}

func (b *blockingServer) served(path string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.paths {
		if p == path {
			return true
		}
	}
	return false
}

// nextGoaway skips control frames up to a GOAWAY and returns its stream ID.
func (rc *rawConn) nextGoaway(t *testing.T) quic.StreamID {
	t.Helper()
	for {
		f := rc.nextCtrl(t)
		if f.typ != frameGoaway {
			continue
		}
		id, n, err := quicvarint.Parse(f.payload)
		if err != nil || n != len(f.payload) {
			t.Fatalf("GOAWAY payload %x: %v", f.payload, err)
		}
		return quic.StreamID(id)
	}
}

// TestWireShutdown: RFC 9114 5.2. GOAWAY names a stream past the one in flight, a
// later stream is rejected with H3_REQUEST_REJECTED, the request in flight completes,
// and then Shutdown returns and the connection closes with H3_NO_ERROR.
func TestWireShutdown(t *testing.T) {
	b := newBlockingServer()
	srv := &h3srv.Server{Handler: b}
	ts := startServer(t, srv)
	rc := dialReady(t, ts)
	if f := rc.nextCtrl(t); f.typ != frameSettings {
		t.Fatalf("first control frame %#x", f.typ)
	}
	inflight := rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/block")...), true)
	recv(t, b.started, "the handler")

	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(context.Background()) }()

	id := rc.nextGoaway(t)
	for id > inflight.StreamID()+4 { // a first GOAWAY may leave room; wait for the last
		next := rc.nextGoaway(t)
		if next > id {
			t.Fatalf("GOAWAY grew from %d to %d", id, next)
		}
		id = next
	}
	if id%4 != 0 || id <= inflight.StreamID() {
		t.Fatalf("GOAWAY stream ID %d, want a client bidi stream ID above %d", id, inflight.StreamID())
	}

	late := rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/late")...), true)
	wantStreamReset(t, late, h3RequestRejected)
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}

	close(b.release)
	resp, err := readResponse(inflight)
	if err != nil || resp.status != 200 || string(resp.body) != "done" {
		t.Fatalf("in-flight request: %v status %d body %q", err, resp.status, resp.body)
	}
	if err := recv(t, shutdownErr, "Shutdown"); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if b.served("/late") {
		t.Error("the handler ran for the stream after GOAWAY")
	}
	wantConnClosed(t, rc, h3NoError)
	ts.waitServed(t)
}

// TestWireShutdownContextDone: when Shutdown's context ends, Shutdown returns its
// error and the connections close at once, running handlers or not.
func TestWireShutdownContextDone(t *testing.T) {
	b := newBlockingServer()
	srv := &h3srv.Server{Handler: b}
	ts := startServer(t, srv)
	rc := dialReady(t, ts)
	inflight := rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/block")...), true)
	recv(t, b.started, "the handler")
	defer close(b.release)

	ctx, cancel := context.WithCancel(context.Background())
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(ctx) }()
	rc.nextGoaway(t)
	cancel()
	if err := recv(t, shutdownErr, "Shutdown"); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown: %v, want context.Canceled", err)
	}
	select {
	case <-rc.conn.Context().Done():
	case <-guardCtx(t).Done():
		t.Fatal("connection still open after Shutdown's context ended")
	}
	if _, err := readResponse(inflight); err == nil {
		t.Error("the in-flight request completed")
	}
	ts.waitServed(t)
}

// TestWireShutdownIdleConnection: a connection without requests closes at Shutdown
// with H3_NO_ERROR after a GOAWAY, and Shutdown returns nil.
func TestWireShutdownIdleConnection(t *testing.T) {
	srv := &h3srv.Server{Handler: okHandler()}
	ts := startServer(t, srv)
	rc := dialReady(t, ts)
	rc.get(t, ts, "/") // the server knows the connection
	if err := srv.Shutdown(guardCtx(t)); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if id := rc.nextGoaway(t); id%4 != 0 || id < 4 {
		t.Errorf("GOAWAY stream ID %d, want a client bidi stream ID past stream 0", id)
	}
	wantConnClosed(t, rc, h3NoError)
	ts.waitServed(t)
}
