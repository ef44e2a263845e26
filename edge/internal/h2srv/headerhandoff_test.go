package h2srv

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHandOffHeader: a handler that hands its header map off gets the same response as
// with the copy: the fields set before WriteHeader are sent; Header() afterwards is a new
// map whose changes are not sent, but for declared trailers, which are.
func TestHandOffHeader(t *testing.T) {
	late := make(chan int, 1)
	p := newPipeConn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Early", "1")
		h.Set("Trailer", "X-Trailer")
		w.(*responseWriter).HandOffHeader()
		w.WriteHeader(http.StatusAccepted)
		late <- len(w.Header())
		w.Header().Set("X-Late", "1")
		io.WriteString(w, "body")
		w.Header().Set("X-Trailer", "t")
	}), nil)
	req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://pipe.test/", nil)
	resp, err := p.cc.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "body" || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("got %d %q, %v; want 202 \"body\"", resp.StatusCode, body, err)
	}
	if n := <-late; n != 0 {
		t.Errorf("Header() after WriteHeader has %d fields; want a new, empty map", n)
	}
	if resp.Header.Get("X-Early") != "1" || resp.Header.Get("X-Late") != "" {
		t.Errorf("headers %v: want X-Early and no X-Late", resp.Header)
	}
	if got := resp.Trailer.Get("X-Trailer"); got != "t" {
		t.Errorf("trailer X-Trailer %q; want \"t\"", got)
	}
}

// TestFinalBufSplit: a final chunk whose DATA frame flow control splits keeps its pooled
// copy until the last piece is written, while other streams' final chunks go through
// the pool: every body arrives intact. The client's window is 10 bytes per stream; the
// small responses get a larger one with their request, the large one after them.
func TestFinalBufSplit(t *testing.T) {
	r := newRawConn(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/big" {
			io.WriteString(w, strings.Repeat("a", 1000))
			return
		}
		io.WriteString(w, strings.Repeat(req.URL.Path[1:], 99))
	}))
	var out, hbuf bytes.Buffer
	out.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&out, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	enc := hpack.NewEncoder(&hbuf)
	writeGet(t, fr, enc, &hbuf, 1, "/big")
	const small = 20
	for i := range uint32(small) {
		writeGet(t, fr, enc, &hbuf, 3+2*i, "/"+string(rune('b'+i)))
		fr.WriteWindowUpdate(3+2*i, 1000)
	}
	r.write(out.Bytes())
	bodies := map[uint32]string{}
	done := func() bool {
		for i := range uint32(small) {
			if len(bodies[3+2*i]) < 99 {
				return false
			}
		}
		return len(bodies[1]) >= 10
	}
	for !done() {
		if d, ok := r.next(t).(*dataCopy); ok {
			bodies[d.streamID] += string(d.data)
		}
	}
	out.Reset()
	fr.WriteWindowUpdate(1, 2000)
	r.write(out.Bytes())
	for len(bodies[1]) < 1000 {
		if d, ok := r.next(t).(*dataCopy); ok {
			bodies[d.streamID] += string(d.data)
		}
	}
	if want := strings.Repeat("a", 1000); bodies[1] != want {
		t.Errorf("the split body differs from what the handler wrote: %q", bodies[1])
	}
	for i := range uint32(small) {
		if want := strings.Repeat(string(rune('b'+i)), 99); bodies[3+2*i] != want {
			t.Errorf("stream %d: %q, want %q", 3+2*i, bodies[3+2*i], want)
		}
	}
}

// TestHandOffHeaderReused: the maps handed off come back from Header empty, and a
// response's fields are its own, over requests in a row (each one's map is likely the
// one handed off before it).
func TestHandOffHeaderReused(t *testing.T) {
	p := newPipeConn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := len(w.Header()); n != 0 {
			w.Header().Set("X-Stale", "1")
		}
		w.Header().Set("X-Path", r.URL.Path)
		w.(*responseWriter).HandOffHeader()
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, r.URL.Path)
	}), nil)
	for i := range 50 {
		path := "/" + strings.Repeat("p", i)
		req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://pipe.test"+path, nil)
		resp, err := p.cc.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != path {
			t.Fatalf("%s: body %q, %v", path, body, err)
		}
		if resp.Header.Get("X-Stale") != "" || resp.Header.Get("X-Path") != path {
			t.Fatalf("%s: header %v: want X-Path %s and no X-Stale", path, resp.Header, path)
		}
	}
}
