package h3srv_test

import (
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/quic-go/qpack"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// TestWireMalformedHeaders: a malformed request is a stream error H3_MESSAGE_ERROR
// (RFC 9114 4.1.2) and never reaches the handler; the connection stays up.
func TestWireMalformedHeaders(t *testing.T) {
	var called atomic.Int32
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			called.Add(1)
		}
		io.WriteString(w, "ok")
	})})
	method, scheme, authority, path := hf(":method", "GET"), hf(":scheme", "https"), hf(":authority", ts.addr), hf(":path", "/x")
	for _, tc := range []struct {
		name   string
		fields []qpack.HeaderField
		rfcSec string
	}{
		{"missing :method", []qpack.HeaderField{scheme, authority, path}, "4.3.1"},
		{"missing :path", []qpack.HeaderField{method, scheme, authority}, "4.3.1"},
		{"empty :path", []qpack.HeaderField{method, scheme, authority, hf(":path", "")}, "4.3.1"},
		{"missing :scheme", []qpack.HeaderField{method, authority, path}, "4.3.1"},
		{"no :authority nor host", []qpack.HeaderField{method, scheme, path}, "4.3.1"},
		{"uppercase name", []qpack.HeaderField{method, scheme, authority, path, hf("X-Upper", "1")}, "4.2"},
		{"pseudo after regular", []qpack.HeaderField{method, scheme, authority, hf("x-a", "b"), path}, "4.3"},
		{"unknown pseudo", []qpack.HeaderField{method, scheme, authority, path, hf(":foo", "bar")}, "4.3"},
		{"response pseudo in request", []qpack.HeaderField{method, scheme, authority, path, hf(":status", "200")}, "4.3"},
		{"connection", []qpack.HeaderField{method, scheme, authority, path, hf("connection", "close")}, "4.2"},
		{"transfer-encoding", []qpack.HeaderField{method, scheme, authority, path, hf("transfer-encoding", "chunked")}, "4.2"},
		{"keep-alive", []qpack.HeaderField{method, scheme, authority, path, hf("keep-alive", "300")}, "4.2"},
		{"upgrade", []qpack.HeaderField{method, scheme, authority, path, hf("upgrade", "websocket")}, "4.2"},
		{"proxy-connection", []qpack.HeaderField{method, scheme, authority, path, hf("proxy-connection", "keep-alive")}, "4.2"},
		{"te gzip", []qpack.HeaderField{method, scheme, authority, path, hf("te", "gzip")}, "4.2"},
		{"duplicate :path", []qpack.HeaderField{method, scheme, authority, path, hf(":path", "/y")}, "4.3"},
		{"duplicate :method", []qpack.HeaderField{method, scheme, authority, path, hf(":method", "POST")}, "4.3"},
		{"LF in a value", []qpack.HeaderField{method, scheme, authority, path, hf("x-a", "a\nb")}, "4.2 / 10.3"},
		{"invalid content-length", []qpack.HeaderField{method, scheme, authority, path, hf("content-length", "abc")}, "4.1.2"},
		{"negative content-length", []qpack.HeaderField{method, scheme, authority, path, hf("content-length", "-1")}, "4.1.2"},
		{"two content-lengths", []qpack.HeaderField{method, scheme, authority, path, hf("content-length", "3"), hf("content-length", "4")}, "4.1.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Logf("RFC 9114 %s", tc.rfcSec)
			rc := dialReady(t, ts)
			wantStreamReset(t, rc.openRequest(t, headersFrame(tc.fields...), true), h3MessageError)
			rc.get(t, ts, "/ok")
			wantConnOpen(t, rc)
		})
	}
	if n := called.Load(); n != 0 {
		t.Errorf("the handler ran for %d malformed requests", n)
	}
}

// TestWireWellFormedEdges are requests close to the malformed ones that must succeed.
func TestWireWellFormedEdges(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: okHandler()})
	rc := dialReady(t, ts)
	for _, tc := range []struct {
		name   string
		fields []qpack.HeaderField
	}{
		{"te trailers", reqFields(ts, "GET", "/", hf("te", "trailers"))},
		{"host instead of :authority", []qpack.HeaderField{hf(":method", "GET"), hf(":scheme", "https"), hf(":path", "/"), hf("host", ts.addr)}},
		{"OPTIONS *", reqFields(ts, "OPTIONS", "*")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp := rc.roundTrip(t, tc.fields); resp.status != 200 {
				t.Errorf("status %d, want 200", resp.status)
			}
		})
	}
}

// TestWireContentLengthMismatch: DATA frames that disagree with content-length make the
// request malformed (RFC 9114 4.1.2): the handler's body read fails and the stream is
// reset with H3_MESSAGE_ERROR.
func TestWireContentLengthMismatch(t *testing.T) {
	var bodyErrs sync.Map // path -> chan error (buffered), the handler's body read result
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if ch, ok := bodyErrs.Load(r.URL.Path); ok {
			ch.(chan error) <- err
		}
		if err == nil {
			io.WriteString(w, "ok")
		}
	})})
	for i, tc := range []struct {
		name    string
		cl      string
		data    [][]byte
		wantErr bool
	}{
		{"fewer bytes", "10", [][]byte{[]byte("12345")}, true},
		{"no DATA", "5", nil, true},
		{"more bytes", "5", [][]byte{[]byte("1234567890")}, true},
		{"more over two frames", "5", [][]byte{[]byte("123"), []byte("456")}, true},
		{"exact over two frames", "6", [][]byte{[]byte("123"), []byte("456")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/" + strconv.Itoa(i)
			bodyErr := make(chan error, 1)
			bodyErrs.Store(path, bodyErr)
			rc := dialReady(t, ts)
			data := headersFrame(reqFields(ts, "POST", path, hf("content-length", tc.cl))...)
			for _, d := range tc.data {
				data = append(data, dataFrame(d)...)
			}
			str := rc.openRequest(t, data, true)
			if !tc.wantErr {
				resp, err := readResponse(str)
				if err != nil || resp.status != 200 {
					t.Fatalf("status %d, %v; want 200", resp.status, err)
				}
			} else {
				t.Log("RFC 9114 4.1.2")
				wantStreamReset(t, str, h3MessageError)
			}
			select {
			case err := <-bodyErr:
				if (err != nil) != tc.wantErr {
					t.Errorf("handler's body error %v, want error %v", err, tc.wantErr)
				}
			default: // the server may reset before the handler has read (or run)
				if !tc.wantErr {
					t.Error("the handler did not run")
				}
			}
			rc.get(t, ts, "/ok")
			wantConnOpen(t, rc)
		})
	}
}

// TestWireMalformedTrailers: pseudo-header fields or uppercase names in a trailer
// section make the request malformed (RFC 9114 4.1.2, 4.2, 4.3): the stream is reset
// with H3_MESSAGE_ERROR.
func TestWireMalformedTrailers(t *testing.T) {
	ts := startServer(t, &h3srv.Server{Handler: bodyEchoHandler()})
	for _, tc := range []struct {
		name   string
		fields []qpack.HeaderField
	}{
		{"pseudo-header", []qpack.HeaderField{hf(":path", "/y")}},
		{"uppercase name", []qpack.HeaderField{hf("X-T", "v")}},
		{"connection-specific", []qpack.HeaderField{hf("connection", "close")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialReady(t, ts)
			data := append(headersFrame(reqFields(ts, "POST", "/")...), dataFrame([]byte("x"))...)
			data = append(data, headersFrame(tc.fields...)...)
			wantStreamReset(t, rc.openRequest(t, data, true), h3MessageError)
			rc.get(t, ts, "/")
			wantConnOpen(t, rc)
		})
	}
}
