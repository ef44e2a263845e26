package h3srv_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/h3srv"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
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
	ts := startServer(t, &h3srv.Server{WriteTimeout: 300 * time.Millisecond, Handler: endlessHandler(writeErr)})
	rc := dialReady(t, ts)
	rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/big")...), true) // never read
	if err := recv(t, writeErr, "the handler's write error"); err == nil {
		t.Fatal("the handler wrote 256 MiB to a client that reads nothing")
	}
}

// TestWireWriteByteTimeout: with WriteByteTimeout, a response write that the client
// stops taking fails (the handler sees a timeout) although the connection stays alive,
// and no WriteTimeout is set.
func TestWireWriteByteTimeout(t *testing.T) {
	writeErr := make(chan error, 1)
	ts := startServer(t, &h3srv.Server{WriteByteTimeout: 300 * time.Millisecond, Handler: endlessHandler(writeErr)})
	rc := dialReady(t, ts)
	rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/big")...), true) // never read
	err := recv(t, writeErr, "the handler's write error")
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("handler's write: %v, want a timeout", err)
	}
	wantConnOpen(t, rc)
}

// TestWireWriteByteTimeoutSlowReader: WriteByteTimeout bounds each stretch of a response,
// not the whole: a client that reads 8 KiB every 100 ms (a 16 KiB window) takes 320 KiB
// in about 4 s, twice the timeout, and gets all of it.
func TestWireWriteByteTimeoutSlowReader(t *testing.T) {
	const size = 320 << 10
	writeErr := make(chan error, 1)
	ts := startServer(t, &h3srv.Server{WriteByteTimeout: 2 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := w.Write(make([]byte, size)) // one write: stretched by the server
			writeErr <- err
		})})
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h3"}},
		QUICConfig:      &quic.Config{InitialStreamReceiveWindow: 16 << 10, MaxStreamReceiveWindow: 16 << 10},
	}
	t.Cleanup(func() { tr.Close() })
	req, _ := http.NewRequestWithContext(guardCtx(t), "GET", ts.url("/slow"), nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start, got := time.Now(), 0
	buf := make([]byte, 8<<10)
	for {
		n, err := io.ReadFull(resp.Body, buf)
		got += n
		if err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := recv(t, writeErr, "the handler's write"); err != nil || got != size {
		t.Fatalf("read %d of %d bytes in %v; handler's write: %v", got, size, time.Since(start), err)
	}
	t.Logf("read %d bytes in %v", got, time.Since(start))
}

// endlessHandler writes 256 MiB, far beyond any flow control window, and sends its
// write's error (nil if it all went) on writeErr.
func endlessHandler(writeErr chan<- error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for i := 0; i < 4096; i++ {
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	})
}
