package h3srv_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// TestWireHandlerPanic: a handler that panics, before or after its response started,
// gets its stream reset with H3_INTERNAL_ERROR; the connection stays usable.
func TestWireHandlerPanic(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			panic("test panic")
		case "/abort":
			panic(http.ErrAbortHandler)
		case "/late":
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic("test panic after the response started")
		}
		io.WriteString(w, "ok")
	})})
	for _, path := range []string{"/panic", "/abort", "/late"} {
		t.Run(path, func(t *testing.T) {
			rc := dialReady(t, ts)
			wantStreamReset(t, rc.openRequest(t, headersFrame(reqFields(ts, "GET", path)...), true), h3InternalError)
			rc.get(t, ts, "/")
			wantConnOpen(t, rc)
		})
	}
}

// TestWireClientStopsReading: a client that abandons reading a large response
// (STOP_SENDING) makes the handler's Write fail instead of blocking on flow control.
func TestWireClientStopsReading(t *testing.T) {
	wrote := make(chan struct{}, 1)
	writeErr := make(chan error, 1)
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/big" {
			return
		}
		chunk := make([]byte, 32<<10)
		for i := 0; ; i++ {
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return
			}
			if i == 0 {
				w.(http.Flusher).Flush()
				wrote <- struct{}{}
			}
			if i > 4096 { // 128 MiB: flow control should have stopped the handler long before
				writeErr <- nil
				return
			}
		}
	})})
	rc := dialReady(t, ts)
	str := rc.openRequest(t, headersFrame(reqFields(ts, "GET", "/big")...), true)
	recv(t, wrote, "the first write")
	str.CancelRead(h3RequestCancelled)
	if err := recv(t, writeErr, "the handler's write error"); err == nil {
		t.Error("the handler wrote 128 MiB to a client that stopped reading")
	}
	rc.get(t, ts, "/small")
	wantConnOpen(t, rc)
}

// TestWireClientAbortsBody: a client that resets its request stream's sending side
// mid-body makes the handler's Body.Read fail with an error other than io.EOF.
func TestWireClientAbortsBody(t *testing.T) {
	readFirst := make(chan struct{}, 1)
	bodyErr := make(chan error, 1)
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/upload" {
			return
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			bodyErr <- err
			return
		}
		readFirst <- struct{}{}
		_, err := io.ReadAll(r.Body)
		bodyErr <- err
	})})
	rc := dialReady(t, ts)
	data := append(headersFrame(reqFields(ts, "POST", "/upload")...), dataFrame([]byte("part"))...)
	str := rc.openRequest(t, data, false)
	recv(t, readFirst, "the handler's first read")
	str.CancelWrite(h3RequestCancelled)
	if err := recv(t, bodyErr, "the handler's body error"); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("body read after the client's reset: %v, want an error", err)
	}
	rc.get(t, ts, "/")
	wantConnOpen(t, rc)
}

// TestWireRapidReset: streams opened and reset at once by the hundred do not take the
// server down; a fresh connection is served.
func TestWireRapidReset(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: okHandler()})
	rc := dialReady(t, ts)
	headers := headersFrame(reqFields(ts, "GET", "/")...)
	for range 300 {
		if rc.conn.Context().Err() != nil {
			break
		}
		str := rc.openRequest(t, headers, false)
		str.CancelWrite(h3RequestCancelled)
		str.CancelRead(h3RequestCancelled)
	}
	if err := rc.conn.Context().Err(); err != nil {
		t.Logf("observed: the server closed the resetting connection: %v", err)
	} else {
		rc.get(t, ts, "/")
		t.Logf("observed: the resetting connection is still served")
	}
	dialReady(t, ts).get(t, ts, "/fresh")
}

// TestWireLargeUnknownFrame: a 1 MiB frame of a reserved type before the HEADERS frame
// is skipped (RFC 9114 9) without hurting the request.
func TestWireLargeUnknownFrame(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: okHandler()})
	rc := dialReady(t, ts)
	data := append(frame(frameGrease, bytes.Repeat([]byte{0xaa}, 1<<20)), headersFrame(reqFields(ts, "GET", "/")...)...)
	resp, err := readResponse(rc.openRequest(t, data, true))
	if err != nil || resp.status != 200 {
		t.Errorf("status %d, %v; want 200", resp.status, err)
	}
}
