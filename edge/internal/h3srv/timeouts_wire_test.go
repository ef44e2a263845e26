package h3srv_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// TestWireReadTimeout: with ReadTimeout, a body that stops coming fails the handler's read
// with a timeout once the request has run that long, and the handler still answers (the
// stream is not reset), as net/http's ReadTimeout.
func TestWireReadTimeout(t *testing.T) {
	readErr := make(chan error, 1)
	ts := startServer(t, &h3srv.Server{ReadTimeout: 300 * time.Millisecond,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := io.ReadAll(r.Body)
			readErr <- err
			w.WriteHeader(http.StatusRequestTimeout)
		})})
	rc := dialReady(t, ts)
	str := rc.openRequest(t, append(headersFrame(reqFields(ts, "POST", "/")...), dataFrame([]byte("part"))...), false)
	var ne net.Error
	if err := recv(t, readErr, "the handler's read error"); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read error %v; want a timeout", err)
	}
	resp, err := readResponse(str)
	if err != nil || resp.status != http.StatusRequestTimeout {
		t.Fatalf("response %v, %v; want 408", resp, err)
	}
}

// TestWireWriteTimeout: with WriteTimeout, a handler writing to a client that reads
// nothing (and so grants no flow control credit) gets a write error instead of waiting
// for ever; without it, the request goes on (the guard ends the test).
func TestWireWriteTimeout(t *testing.T) {
	writeErr := make(chan error, 1)
	ts := startServer(t, &h3srv.Server{WriteTimeout: 300 * time.Millisecond,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 64<<10)
			for i := 0; i < 4096; i++ { // 256 MiB: far beyond any flow control window
				if _, err := w.Write(chunk); err != nil {
					writeErr <- err
					return
				}
			}
			writeErr <- nil
		})})
	rc := dialReady(t, ts)
	rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/big")...), true) // never read
	if err := recv(t, writeErr, "the handler's write error"); err == nil {
		t.Fatal("the handler wrote 256 MiB to a client that reads nothing")
	}
}
