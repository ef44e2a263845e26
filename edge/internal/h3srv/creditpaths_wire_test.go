package h3srv_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// startLimited serves srv with stream credit released by the server and a limit of
// creditLimit request streams, so that a stream whose credit is lost blocks the client's
// next OpenStreamSync until the guard.
func startLimited(t *testing.T, srv *h3srv.Server) *testServer {
	conf := serverConf()
	conf.MaxIncomingStreams = creditLimit
	return startServerConf(t, srv, conf)
}

// TestWireStreamCreditAfterGoexit: a handler that ends with runtime.Goexit (t.FailNow in
// a test handler) has its stream reset, and the stream's credit comes back.
func TestWireStreamCreditAfterGoexit(t *testing.T) {
	ts := startLimited(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/exit" {
			io.WriteString(w, "x")
			runtime.Goexit()
		}
		io.WriteString(w, "ok")
	})})
	rc := dialReady(t, ts)
	for range 3 * creditLimit {
		wantStreamReset(t, rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/exit")...), true), h3InternalError)
	}
	rc.get(t, ts, "/")
}

// TestWireStreamCreditAfterHeaderTimeout: a stream reset because its HEADERS frame did
// not arrive within ReadHeaderTimeout gives its credit back.
func TestWireStreamCreditAfterHeaderTimeout(t *testing.T) {
	ts := startLimited(t, &h3srv.Server{ReadHeaderTimeout: 50 * time.Millisecond, Handler: okHandler()})
	rc := dialReady(t, ts)
	for range 3 * creditLimit {
		str := rc.openRequest(t, varint(frameHeaders), false) // a frame that never comes whole
		wantStreamReset(t, str, h3RequestIncomplete)
		str.CancelWrite(h3RequestCancelled)
	}
	rc.get(t, ts, "/")
}

// TestWireStreamCreditAfterClientCancel: requests the client cancels (STOP_SENDING and
// RESET_STREAM) while their handlers run, whose held last write then fails, give their
// credit back.
func TestWireStreamCreditAfterClientCancel(t *testing.T) {
	started := make(chan struct{}, 1)
	ts := startLimited(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			started <- struct{}{}
			<-r.Context().Done()
		}
		io.WriteString(w, "ok")
	})})
	rc := dialReady(t, ts)
	for range 3 * creditLimit {
		str := rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/wait")...), true)
		recv(t, started, "the handler")
		str.CancelRead(h3RequestCancelled)
		str.CancelWrite(h3RequestCancelled)
	}
	rc.get(t, ts, "/")
}

// TestWireStreamCreditAfterWriteDeadline: a handler that returns after its WriteTimeout
// has passed has its held last write fail; the stream is reset and its credit comes back.
func TestWireStreamCreditAfterWriteDeadline(t *testing.T) {
	ts := startLimited(t, &h3srv.Server{WriteTimeout: 20 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(40 * time.Millisecond) // past the deadline, whatever the load
		io.WriteString(w, "late")
	})})
	rc := dialReady(t, ts)
	for range creditLimit + 1 {
		wantStreamReset(t, rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/")...), true), h3InternalError)
	}
}

// TestWireBatchAfterInformational: a 1xx response written before the handler returns
// leaves the final response unheld (something was written) and whole.
func TestWireBatchAfterInformational(t *testing.T) {
	ts := startLimited(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "ok")
	})})
	rc := dialReady(t, ts)
	for range 3 * creditLimit {
		resp := rc.roundTrip(t, reqFields(ts, "GET", "/"))
		if resp.status != http.StatusOK || string(resp.body) != "ok" {
			t.Fatalf("status %d body %q, want 200 ok", resp.status, resp.body)
		}
	}
}

// TestWireWriteAfterReturnBatched: a goroutine the handler left running, writing and
// flushing once the request's context ended, gets errors and does not race with the
// batch that writes the held last write (go test -race).
func TestWireWriteAfterReturnBatched(t *testing.T) {
	var late sync.WaitGroup
	t.Cleanup(late.Wait)
	lateErr := make(chan error, 64)
	ts := startLimited(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
		late.Add(1)
		go func() {
			defer late.Done()
			<-r.Context().Done()
			_, err := w.Write([]byte("late"))
			w.(http.Flusher).Flush()
			lateErr <- err
		}()
	})})
	rc := dialReady(t, ts)
	const n = 2 * creditLimit
	creditRound(t, ts, rc, 0, n)
	for range n {
		if err := recv(t, lateErr, "the late write"); err == nil {
			t.Error("a write after the handler returned succeeded")
		}
	}
}

// TestWireShutdownBatched: Shutdown while the handlers of a connection return together
// (their last writes held for one batch) lets every response complete, then closes the
// connection with H3_NO_ERROR.
func TestWireShutdownBatched(t *testing.T) {
	var mu sync.Mutex
	running := 0
	all := make(chan struct{})
	release := make(chan struct{})
	srv := &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if running++; running == creditLimit {
			close(all)
		}
		mu.Unlock()
		<-release
		io.WriteString(w, "ok")
	})}
	ts := startLimited(t, srv)
	rc := dialReady(t, ts)
	strs := make([]*quic.Stream, creditLimit)
	for i := range strs {
		strs[i] = rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/")...), true)
	}
	recv(t, all, "the handlers")
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(context.Background()) }()
	rc.nextGoaway(t)
	close(release)
	for _, str := range strs {
		resp, err := readResponse(str)
		if err != nil || string(resp.body) != "ok" {
			t.Fatalf("response %v, %v; want ok", resp, err)
		}
	}
	if err := recv(t, shutdownErr, "Shutdown"); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	wantConnClosed(t, rc, h3NoError)
}
