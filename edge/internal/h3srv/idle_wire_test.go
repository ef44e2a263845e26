package h3srv_test

import (
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// testIdle leaves room for a loaded machine between a connection's start and its
// first request.
const testIdle = time.Second

// TestWireIdleTimeout: a connection without requests for IdleTimeout is closed with
// H3_NO_ERROR, from its start or after its last request.
func TestWireIdleTimeout(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: okHandler(), IdleTimeout: testIdle})
	t.Run("never used", func(t *testing.T) {
		wantConnClosed(t, dialReady(t, ts), h3NoError)
	})
	t.Run("after a request", func(t *testing.T) {
		rc := dialReady(t, ts)
		rc.get(t, ts, "/")
		wantConnClosed(t, rc, h3NoError)
	})
}

// TestWireIdleTimeoutBusy: a connection with a request running outlives a connection
// opened after that request started, which the idle timeout closes; so the busy one's
// idle timer, had it run, would have fired. The request then completes on it.
func TestWireIdleTimeoutBusy(t *testing.T) {
	b := newBlockingServer()
	ts := startServer(t, &h3srv.Server{Handler: b, IdleTimeout: testIdle})
	busy := dialReady(t, ts)
	inflight := busy.openRequest(t, headersFrame(reqFields(ts, "GET", "/block")...), true)
	recv(t, b.started, "the handler")

	later := dialReady(t, ts)
	wantConnClosed(t, later, h3NoError)

	close(b.release)
	resp, err := readResponse(inflight)
	if err != nil || resp.status != 200 {
		t.Fatalf("long request on the busy connection: status %d, %v", resp.status, err)
	}
	wantConnClosed(t, busy, h3NoError) // idle once the request ended
}
