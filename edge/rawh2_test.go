package edge

import (
	"bytes"
	"crypto/tls"
	"io"
	"sync"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawH2 is a raw HTTP/2 client of endless.test (startEndless) that reads its connection
// all along, as a client that only withholds flow-control credit does: it acknowledges
// SETTINGS and reports RST_STREAM frames on reset.
type rawH2 struct {
	fr    *http2.Framer
	mu    sync.Mutex // the reader acknowledges SETTINGS while the test writes
	reset chan *http2.RSTStreamFrame
}

// dialRawH2 connects to srv with SETTINGS_INITIAL_WINDOW_SIZE window and sends a GET of
// endless.test on each of the streams.
func dialRawH2(t *testing.T, srv *Server, window uint32, streams ...uint32) *rawH2 {
	c, err := tls.Dial("tcp", srv.Addr().String(), &tls.Config{ServerName: "endless.test", RootCAs: ca(t).Pool(), NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, http2.ClientPreface)
	h := &rawH2{fr: http2.NewFramer(c, c), reset: make(chan *http2.RSTStreamFrame, len(streams))}
	h.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: window})
	for _, id := range streams {
		var block bytes.Buffer
		enc := hpack.NewEncoder(&block)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "endless.test"}, {":path", "/"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
	}
	go h.read()
	return h
}

// read reads the connection until it ends.
func (h *rawH2) read() {
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.mu.Lock()
				h.fr.WriteSettingsAck()
				h.mu.Unlock()
			}
		case *http2.RSTStreamFrame:
			h.reset <- f
		}
	}
}

// grant sends WINDOW_UPDATEs of n bytes for each of the streams (0: the connection).
func (h *rawH2) grant(n uint32, streams ...uint32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range streams {
		h.fr.WriteWindowUpdate(id, n)
	}
}
