package h3srv_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// bodyEchoHandler reads the whole body and answers with it and the trailer X-T.
func bodyEchoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		fmt.Fprintf(w, "%s|%s", body, r.Trailer.Get("X-T"))
	})
}

// TestWireFrameUnexpected: frames not allowed on a request stream, first or after the
// HEADERS frame, are a connection error H3_FRAME_UNEXPECTED (RFC 9114 4.1, 7.2.x).
func TestWireFrameUnexpected(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: bodyEchoHandler()})
	post := headersFrame(reqFields(ts, "POST", "/")...)
	for _, tc := range []struct {
		name   string
		typ    uint64
		rfcSec string
	}{
		{"CANCEL_PUSH", frameCancelPush, "7.2.3"},
		{"SETTINGS", frameSettings, "7.2.4"},
		{"PUSH_PROMISE", framePushPromise, "7.2.5"},
		{"GOAWAY", frameGoaway, "7.2.6"},
		{"MAX_PUSH_ID", frameMaxPushID, "7.2.7"},
		{"HTTP/2 PRIORITY 0x02", 0x02, "7.2.8"},
		{"HTTP/2 PING 0x06", 0x06, "7.2.8"},
		{"HTTP/2 WINDOW_UPDATE 0x08", 0x08, "7.2.8"},
		{"HTTP/2 CONTINUATION 0x09", 0x09, "7.2.8"},
	} {
		bad := frame(tc.typ, varint(0))
		for _, pos := range []struct {
			name string
			data []byte
		}{
			{"first", bad},
			{"after HEADERS", append(bytes.Clone(post), bad...)},
			{"after DATA", bytes.Join([][]byte{post, dataFrame([]byte("x")), bad}, nil)},
		} {
			t.Run(tc.name+" "+pos.name, func(t *testing.T) {
				t.Parallel() // a failure waits for the guard: fail all at once
				t.Logf("RFC 9114 %s", tc.rfcSec)
				rc := dialReady(t, ts)
				rc.openRequest(t, pos.data, false)
				wantConnClosed(t, rc, h3FrameUnexpected)
			})
		}
	}
}

// TestWireFrameSequence: DATA before HEADERS, HEADERS or DATA after the trailers are
// connection errors H3_FRAME_UNEXPECTED (RFC 9114 4.1).
func TestWireFrameSequence(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: bodyEchoHandler()})
	post := headersFrame(reqFields(ts, "POST", "/")...)
	trailers := headersFrame(hf("x-t", "v"))
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"DATA first", dataFrame([]byte("body"))},
		{"DATA after trailers", bytes.Join([][]byte{post, dataFrame([]byte("a")), trailers, dataFrame([]byte("b"))}, nil)},
		{"HEADERS after trailers", bytes.Join([][]byte{post, trailers, trailers}, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialReady(t, ts)
			rc.openRequest(t, tc.data, true)
			wantConnClosed(t, rc, h3FrameUnexpected)
		})
	}
}

// TestWireTruncatedFrame: a stream that ends cleanly inside a frame is a connection
// error H3_FRAME_ERROR (RFC 9114 7.1).
func TestWireTruncatedFrame(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: bodyEchoHandler()})
	post := headersFrame(reqFields(ts, "POST", "/")...)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"HEADERS payload", post[:len(post)-2]},
		{"DATA payload", append(bytes.Clone(post), frame(frameData, []byte("0123456789"))[:6]...)},
		{"frame header", append(bytes.Clone(post), 0x00)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // a failure waits for the guard: fail all at once
			rc := dialReady(t, ts)
			str := rc.openRequest(t, tc.data, true)
			t.Logf("observed: %s", outcome(str))
			wantConnClosed(t, rc, h3FrameError)
		})
	}
}

// TestWireIncompleteRequest: a stream that ends cleanly between frames before a whole
// HEADERS frame is reset with H3_REQUEST_INCOMPLETE (RFC 9114 4.1); the connection stays.
func TestWireIncompleteRequest(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: bodyEchoHandler()})
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"no frames", nil},
		{"only an unknown frame", frame(frameGrease, []byte("x"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialReady(t, ts)
			wantStreamReset(t, rc.openRequest(t, tc.data, true), h3RequestIncomplete)
			rc.get(t, ts, "/")
			wantConnOpen(t, rc)
		})
	}
}

// TestWireUnknownFramesIgnored: reserved frame types anywhere on a request stream are
// skipped (RFC 9114 4.1, 7.2.8, 9).
func TestWireUnknownFramesIgnored(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: bodyEchoHandler()})
	grease := frame(frameGrease, []byte("grease"))
	bigGrease := frame(0x1f*1000+0x21, make([]byte, 300))
	body := bytes.Join([][]byte{
		grease,
		headersFrame(reqFields(ts, "POST", "/", hf("trailer", "x-t"))...),
		bigGrease,
		dataFrame([]byte("hello ")),
		grease,
		frame(frameGrease, nil),
		dataFrame([]byte("world")),
		grease,
		headersFrame(hf("x-t", "tv")),
	}, nil)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"before HEADERS, between DATA, before trailers", body},
		{"after trailers", append(bytes.Clone(body), grease...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialReady(t, ts)
			resp, err := readResponse(rc.openRequest(t, tc.data, true))
			if err != nil {
				t.Fatal(err)
			}
			if resp.status != 200 || string(resp.body) != "hello world|tv" {
				t.Errorf("status %d body %q, want 200 \"hello world|tv\"", resp.status, resp.body)
			}
			wantConnOpen(t, rc)
		})
	}
}

// TestWireBadQPACK: field sections the static-table-only decoder cannot decode are
// QPACK_DECOMPRESSION_FAILED (RFC 9204 2.2.3, 4.5.1.1: a connection error).
func TestWireBadQPACK(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: okHandler()})
	for _, tc := range []struct {
		name  string
		block []byte
	}{
		{"dynamic table reference", []byte{0x00, 0x00, 0x80}},
		{"required insert count", []byte{0x02, 0x00, 0xd1}},
		{"static index out of range", append([]byte{0x00, 0x00}, qpackInt(0xc0, 6, 200)...)},
		{"truncated literal", []byte{0x00, 0x00, 0x27, 0x10, 'a'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialReady(t, ts)
			wantQPACKFailure(t, rc.openRequest(t, frame(frameHeaders, tc.block), true))
		})
	}
}

// qpackInt is v as a QPACK n-bit prefix integer (RFC 9204 4.1.1) under the high bits of first.
func qpackInt(first byte, n uint, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return []byte{first | byte(v)}
	}
	b := []byte{first | byte(max)}
	v -= max
	for v >= 0x80 {
		b = append(b, byte(v&0x7f)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
