package h3srv_test

import (
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// TestWireReadHeaderTimeout: a request stream without a complete HEADERS frame within
// ReadHeaderTimeout is reset with H3_REQUEST_INCOMPLETE; other requests on the
// connection go on, and the connection stays.
func TestWireReadHeaderTimeout(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: okHandler(), ReadHeaderTimeout: 500 * time.Millisecond})
	for _, tc := range []struct {
		name  string
		stall func(t *testing.T, ts *testServer) []byte
	}{
		{"only an unknown frame", func(t *testing.T, ts *testServer) []byte {
			return frame(frameGrease, []byte("x"))
		}},
		{"only the frame type", func(t *testing.T, ts *testServer) []byte {
			return varint(frameHeaders)
		}},
		{"half a HEADERS frame", func(t *testing.T, ts *testServer) []byte {
			f := headersFrame(reqFields(ts, "GET", "/")...)
			return f[:len(f)/2]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialReady(t, ts)
			stalled := rc.openRequest(t, tc.stall(t, ts), false)
			rc.get(t, ts, "/")
			wantStreamReset(t, stalled, h3RequestIncomplete)
			rc.get(t, ts, "/after")
			wantConnOpen(t, rc)
		})
	}
	t.Run("stream opened without data", func(t *testing.T) {
		rc := dialReady(t, ts)
		// Opening a later stream opens this one at the server too (RFC 9000 3.2); it
		// never carries a byte.
		empty := rc.openRequest(t, nil, false)
		rc.get(t, ts, "/")
		wantStreamReset(t, empty, h3RequestIncomplete)
		wantConnOpen(t, rc)
	})
}
