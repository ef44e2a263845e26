package h3srv_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/quic-go/quic-go/quicvarint"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
}

// parseSettings is a SETTINGS payload as identifier -> value, in order.
func parseSettings(t *testing.T, p []byte) (map[uint64]uint64, []uint64) {
	t.Helper()
	m := map[uint64]uint64{}
	var ids []uint64
	for len(p) > 0 {
		id, n, err := quicvarint.Parse(p)
		if err != nil {
			t.Fatalf("SETTINGS payload: %v", err)
		}
		p = p[n:]
		v, n, err := quicvarint.Parse(p)
		if err != nil {
			t.Fatalf("SETTINGS payload: %v", err)
		}
		p = p[n:]
		m[id] = v
		ids = append(ids, id)
	}
	return m, ids
}

// TestWireServerSettings: RFC 9114 6.2.1 (control stream, SETTINGS first) and 7.2.4.1.
func TestWireServerSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		max  int
		want uint64
	}{
		{"explicit", 8192, 8192},
		{"default", 0, http.DefaultMaxHeaderBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, &h3srv.Server{Handler: okHandler(), MaxHeaderBytes: tc.max})
			rc := dialRaw(t, ts) // the server must send its SETTINGS without waiting for ours
			f := rc.nextCtrl(t)
			if f.typ != frameSettings {
				t.Fatalf("first control frame type %#x, want SETTINGS", f.typ)
			}
			settings, ids := parseSettings(t, f.payload)
			if got, ok := settings[settingMaxField]; !ok || got != tc.want {
				t.Errorf("SETTINGS_MAX_FIELD_SECTION_SIZE %d (present %v), want %d", got, ok, tc.want)
			}
			seen := map[uint64]bool{}
			for _, id := range ids {
				if seen[id] || (id >= 0x02 && id <= 0x05) {
					t.Errorf("SETTINGS identifier %#x duplicated or reserved for HTTP/2 (RFC 9114 7.2.4.1)", id)
				}
				seen[id] = true
			}
		})
	}
}

// TestWireClientControlErrors: connection errors from the client's control, push and
// QPACK streams (RFC 9114 5.2, 6.2.1, 6.2.2, 7.1, 7.2.x; RFC 9204 4.2, 4.3.1).
func TestWireClientControlErrors(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: okHandler()})
	settings := settingsFrame()
	for _, tc := range []struct {
		name   string
		act    func(t *testing.T, rc *rawConn)
		want   uint64
		rfcSec string
	}{
		{"first frame not SETTINGS", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, frame(frameMaxPushID, varint(0)))
		}, h3MissingSettings, "RFC 9114 6.2.1"},
		{"second control stream", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings)
			rc.openUni(t, streamControl, settings)
		}, h3StreamCreationError, "RFC 9114 6.2.1"},
		{"control stream closed", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings).Close()
		}, h3ClosedCriticalStream, "RFC 9114 6.2.1"},
		{"control stream reset", func(t *testing.T, rc *rawConn) {
			str := rc.openUni(t, streamControl, settings)
			str.SetReliableBoundary() // the server reads the stream type before the reset
			str.CancelWrite(h3RequestCancelled)
		}, h3ClosedCriticalStream, "RFC 9114 6.2.1"},
		{"DATA on control stream", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings, dataFrame([]byte("x")))
		}, h3FrameUnexpected, "RFC 9114 7.2.1"},
		{"HEADERS on control stream", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings, headersFrame(reqFields(ts, "GET", "/")...))
		}, h3FrameUnexpected, "RFC 9114 7.2.2"},
		{"second SETTINGS", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings, settings)
		}, h3FrameUnexpected, "RFC 9114 7.2.4"},
		{"HTTP/2 setting identifier", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settingsFrame(0x02, 1))
		}, h3SettingsError, "RFC 9114 7.2.4.1"},
		{"PUSH_PROMISE from client", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings, frame(framePushPromise, append(varint(0), 0, 0)))
		}, h3FrameUnexpected, "RFC 9114 7.2.5"},
		{"HTTP/2 frame type on control stream", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings, frame(0x06, make([]byte, 8)))
		}, h3FrameUnexpected, "RFC 9114 7.2.8"},
		{"unknown frame before SETTINGS", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, frame(frameGrease, nil), settings)
		}, h3MissingSettings, "RFC 9114 6.2.1"},
		{"malformed SETTINGS", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, frame(frameSettings, varint(settingMaxField)))
		}, h3FrameError, "RFC 9114 7.1, 7.2.4"},
		{"CANCEL_PUSH for a push never promised", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings, frame(frameMaxPushID, varint(10)), frame(frameCancelPush, varint(1)))
		}, h3IDError, "RFC 9114 7.2.3"},
		{"MAX_PUSH_ID reduced", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings, frame(frameMaxPushID, varint(10)), frame(frameMaxPushID, varint(5)))
		}, h3IDError, "RFC 9114 7.2.7"},
		{"client GOAWAY increased", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings, frame(frameGoaway, varint(5)), frame(frameGoaway, varint(10)))
		}, h3IDError, "RFC 9114 5.2, 7.2.6"},
		{"client push stream", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings)
			rc.openUni(t, streamPush, varint(0))
		}, h3StreamCreationError, "RFC 9114 6.2.2"},
		{"second QPACK encoder stream", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings)
			rc.openUni(t, streamQPACKEnc)
			rc.openUni(t, streamQPACKEnc)
		}, h3StreamCreationError, "RFC 9204 4.2"},
		{"QPACK decoder stream closed", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings)
			rc.openUni(t, streamQPACKDec).Close()
		}, h3ClosedCriticalStream, "RFC 9204 4.2"},
		{"dynamic table capacity above the server's zero", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings)
			rc.openUni(t, streamQPACKEnc, []byte{0x3f, 0x45}) // Set Dynamic Table Capacity 100
		}, qpackEncoderStreamError, "RFC 9204 4.3.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // a failure waits for the guard: fail all at once
			rc := dialRaw(t, ts)
			tc.act(t, rc)
			t.Log(tc.rfcSec)
			wantConnClosed(t, rc, tc.want)
		})
	}
}

// TestWireClientControlAccepted: a well-behaved client's streams keep the connection
// usable (RFC 9114 6.2.3, 7.2.4.1, 7.2.8, 9; RFC 9204 4.2).
func TestWireClientControlAccepted(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: okHandler()})
	settings := settingsFrame()
	for _, tc := range []struct {
		name string
		act  func(t *testing.T, rc *rawConn)
	}{
		{"unknown stream type", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings)
			rc.openUni(t, streamGrease, []byte("ignored payload"))
		}},
		{"QPACK encoder and decoder streams", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settings)
			rc.openUni(t, streamQPACKEnc)
			rc.openUni(t, streamQPACKDec)
		}},
		{"unknown settings, unknown frames and MAX_PUSH_ID", func(t *testing.T, rc *rawConn) {
			rc.openUni(t, streamControl, settingsFrame(0x21, 7, settingMaxField, 1<<16),
				frame(frameGrease, []byte("grease")), frame(frameMaxPushID, varint(3)))
		}},
		{"no control stream yet", func(t *testing.T, rc *rawConn) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, ts)
			tc.act(t, rc)
			rc.get(t, ts, "/")
			rc.get(t, ts, "/again")
			wantConnOpen(t, rc)
		})
	}
}
