package h2srv

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes (a server's ErrorLog).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// rawConn is a raw HTTP/2 client on a net.Pipe to a fork server: what it writes
// arrives as written, and every frame the server sends is on frames (closed at the
// end of the connection).
type rawConn struct {
	c      net.Conn
	frames chan any // http2.Frame, or *dataCopy for DATA
	log    syncBuffer
	sc     *serverConn   // the server's connection, set by then done is closed
	done   chan struct{} // closed when ServeConn returned
}

func newRawConn(t *testing.T, h http.Handler) *rawConn {
	t.Helper()
	srvEnd, cliEnd := net.Pipe()
	r := &rawConn{c: cliEnd, frames: make(chan any, 100), done: make(chan struct{})}
	hs := &http.Server{ErrorLog: log.New(&r.log, "", 0)}
	go func() {
		defer close(r.done)
		(&Server{}).serveConn(srvEnd, &ServeConnOpts{Handler: h, BaseConfig: hs}, func(sc *serverConn) { r.sc = sc })
	}()
	go func() {
		defer close(r.frames)
		fr := http2.NewFramer(nil, cliEnd)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if d, ok := f.(*http2.DataFrame); ok { // the Framer reuses its buffer
				r.frames <- &dataCopy{d.StreamID, append([]byte(nil), d.Data()...)}
				continue
			}
			r.frames <- f
		}
	}()
	t.Cleanup(func() {
		cliEnd.Close()
		r.wait(t)
	})
	return r
}

// dataCopy is a DATA frame's stream and payload, copied.
type dataCopy struct {
	streamID uint32
	data     []byte
}

// wait waits (at most 10 s) for ServeConn to return.
func (r *rawConn) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("ServeConn did not return within 10 s")
	}
}

// write writes b in one Write (it arrives at the server as one read) from a goroutine
// (net.Pipe writes wait for the reader).
func (r *rawConn) write(b []byte) {
	go r.c.Write(b)
}

// next returns the next frame from the server, failing after 10 s.
func (r *rawConn) next(t *testing.T) any {
	t.Helper()
	select {
	case f, ok := <-r.frames:
		if !ok {
			t.Fatal("connection closed")
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame from the server within 10 s")
	}
	return nil
}

// clientFrames returns the client preface and the frames fn writes.
func clientFrames(t *testing.T, fn func(fr *http2.Framer, enc *hpack.Encoder, hbuf *bytes.Buffer)) []byte {
	t.Helper()
	var out, hbuf bytes.Buffer
	out.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&out, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	fn(fr, hpack.NewEncoder(&hbuf), &hbuf)
	return out.Bytes()
}

// writeGet writes a GET of path on stream id, END_STREAM and END_HEADERS set.
func writeGet(t *testing.T, fr *http2.Framer, enc *hpack.Encoder, hbuf *bytes.Buffer, id uint32, path string) {
	t.Helper()
	hbuf.Reset()
	for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "pipe.test"}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hbuf.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// TestReadBurstStopsAfterFrameTooLarge: a frame header longer than the server's maximum,
// read in a burst (after a PING in the same read), ends reading: the server sends
// GOAWAY FRAME_SIZE_ERROR, and what follows the refused header (here a HEADERS frame
// with a broken HPACK block) is never parsed as a frame: no COMPRESSION_ERROR, no
// handler.
func TestReadBurstStopsAfterFrameTooLarge(t *testing.T) {
	var handled atomic.Int32
	r := newRawConn(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { handled.Add(1) }))
	b := clientFrames(t, func(fr *http2.Framer, enc *hpack.Encoder, hbuf *bytes.Buffer) {
		fr.WritePing(false, [8]byte{1})
		// A frame header with a length over any SETTINGS_MAX_FRAME_SIZE, then, as its
		// "payload", a HEADERS frame whose HPACK block is invalid (indexed field 0).
		fr.WriteRawFrame(http2.FrameData, 0, 1, nil)
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x80}, EndStream: true, EndHeaders: true})
	})
	// The empty DATA frame's header becomes the oversized one: length 0xffffff.
	i := bytes.Index(b, []byte{0, 0, 0, byte(http2.FrameData), 0, 0, 0, 0, 1})
	if i < 0 {
		t.Fatal("DATA frame header not found")
	}
	b[i], b[i+1], b[i+2] = 0xff, 0xff, 0xff
	r.write(b)
	var goAway *http2.GoAwayFrame
	for goAway == nil {
		switch f := r.next(t).(type) {
		case *http2.GoAwayFrame:
			goAway = f
		case *http2.HeadersFrame:
			t.Fatalf("response HEADERS on stream %d", f.StreamID)
		}
	}
	if goAway.ErrCode != http2.ErrCodeFrameSize {
		t.Errorf("GOAWAY %v, want FRAME_SIZE_ERROR", goAway.ErrCode)
	}
	r.c.Close()
	r.wait(t)
	if r.sc.burstFrames == 0 {
		t.Error("the oversized frame header was not read in a burst: the test does not test the burst")
	}
	if log := r.log.String(); strings.Contains(log, "COMPRESSION") || strings.Contains(log, "connection error") {
		t.Errorf("the bytes after the refused frame header were read as a frame:\n%s", log)
	}
	if n := handled.Load(); n != 0 {
		t.Errorf("%d handlers ran", n)
	}
}

// TestReadBurstManyRequests: 40 GETs written at once (more than one burst of
// maxReadBurst frames) are all answered with their own body, some read in bursts.
func TestReadBurstManyRequests(t *testing.T) {
	r := newRawConn(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, "body of "+req.URL.Path)
	}))
	const n = 40
	r.write(clientFrames(t, func(fr *http2.Framer, enc *hpack.Encoder, hbuf *bytes.Buffer) {
		for i := range uint32(n) {
			writeGet(t, fr, enc, hbuf, 2*i+1, "/"+strings.Repeat("p", int(i)))
		}
	}))
	bodies := map[uint32]string{}
	for len(bodies) < n {
		if d, ok := r.next(t).(*dataCopy); ok {
			bodies[d.streamID] += string(d.data)
		}
	}
	for i := range uint32(n) {
		if want := "body of /" + strings.Repeat("p", int(i)); bodies[2*i+1] != want {
			t.Errorf("stream %d: %q, want %q", 2*i+1, bodies[2*i+1], want)
		}
	}
	r.c.Close()
	r.wait(t)
	if r.sc.burstFrames == 0 {
		t.Error("no frame was read in a burst")
	}
	if log := r.log.String(); log != "" {
		t.Errorf("server log:\n%s", log)
	}
}
