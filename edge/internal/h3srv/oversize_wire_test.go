package h3srv_test

import (
	"bytes"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/quic-go/qpack"
	"github.com/quic-go/quic-go"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

const testMaxHeader = 4096

// TestWireOversizedHeadersFrame: a HEADERS frame longer than MaxHeaderBytes is refused
// from its length alone (RFC 9114 4.2.2: 431): the client sends the frame header and a
// few bytes and stalls, and still gets its answer.
func TestWireOversizedHeadersFrame(t *testing.T) {
	var called atomic.Int32
	ts := startServer(t, &h3srv.Server{MaxHeaderBytes: testMaxHeader, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			called.Add(1)
		}
	})})
	rc := dialReady(t, ts)
	block := qpackBlock(reqFields(ts, "GET", "/big")...)
	head := append(varint(frameHeaders), varint(10*testMaxHeader)...)
	str := rc.openRequest(t, append(head, block...), false) // stalls inside the frame
	resp, err := readResponse(str)
	var serr *quic.StreamError
	switch {
	case err == nil && resp.status == http.StatusRequestHeaderFieldsTooLarge:
		t.Logf("observed: 431")
	case err == nil && resp.status == http.StatusOK:
		t.Errorf("status 200 for a HEADERS frame over the limit")
	case errors.As(err, &serr) && resp.status == http.StatusRequestHeaderFieldsTooLarge:
		t.Logf("observed: 431, then a reset with %#x", uint64(serr.ErrorCode))
	default:
		t.Errorf("status %d, %v; want 431", resp.status, err)
	}
	if called.Load() != 0 {
		t.Error("the handler ran")
	}
	rc.get(t, ts, "/ok")
	wantConnOpen(t, rc)
}

// TestWireOversizedFieldSection: a short HEADERS frame whose decoded field section
// (name + value + 32 per field, RFC 9114 4.2.2) exceeds MaxHeaderBytes gets 431.
func TestWireOversizedFieldSection(t *testing.T) {
	ts := startServer(t, &h3srv.Server{MaxHeaderBytes: testMaxHeader, Handler: okHandler()})
	rc := dialReady(t, ts)
	// "accept: */*" is one byte on the wire (a static table index) and 41 decoded.
	fieldsOf := func(n int) []qpack.HeaderField {
		f := reqFields(ts, "GET", "/")
		for range n {
			f = append(f, hf("accept", "*/*"))
		}
		return f
	}
	for _, tc := range []struct {
		name    string
		repeats int
		want    int
	}{
		{"under the limit", 60, http.StatusOK},
		{"over the limit", 120, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := fieldsOf(tc.repeats)
			if n := len(qpackBlock(fields...)); n >= testMaxHeader/2 {
				t.Fatalf("encoded block is %d bytes, the test wants it small", n)
			}
			str := rc.openRequest(t, headersFrame(fields...), true)
			resp, err := readResponse(str)
			if resp.status != tc.want {
				t.Errorf("status %d (%v), want %d", resp.status, err, tc.want)
			}
		})
	}
	wantConnOpen(t, rc)
}

// TestWireOversizedTrailers: a trailer section over MaxHeaderBytes fails the handler's
// body read and does not end in a clean response.
func TestWireOversizedTrailers(t *testing.T) {
	bodyErr := make(chan error, 1)
	ts := startServer(t, &h3srv.Server{MaxHeaderBytes: testMaxHeader, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := new(bytes.Buffer)
		_, err := buf.ReadFrom(r.Body)
		bodyErr <- err
	})})
	rc := dialReady(t, ts)
	var trailers []qpack.HeaderField
	for range 120 {
		trailers = append(trailers, hf("accept", "*/*"))
	}
	data := bytes.Join([][]byte{headersFrame(reqFields(ts, "POST", "/")...), dataFrame([]byte("x")), headersFrame(trailers...)}, nil)
	str := rc.openRequest(t, data, true)
	if err := recv(t, bodyErr, "the handler's body read"); err == nil {
		t.Error("body read succeeded with oversized trailers")
	}
	t.Logf("observed: %s", outcome(str))
}
