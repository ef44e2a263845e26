package h2srv

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// headerContext is a writeContext writing frames to a buffer.
type headerContext struct {
	out bytes.Buffer
	fr  *Framer
	enc *hpack.Encoder
	buf bytes.Buffer
}

func newHeaderContext() *headerContext {
	c := &headerContext{}
	c.fr = NewFramer(&c.out, nil)
	c.enc = hpack.NewEncoder(&c.buf)
	return c
}

func (c *headerContext) Framer() *Framer                                { return c.fr }
func (c *headerContext) Flush() error                                   { return nil }
func (c *headerContext) CloseConn() error                               { return nil }
func (c *headerContext) HeaderEncoder() (*hpack.Encoder, *bytes.Buffer) { return c.enc, &c.buf }

// TestResHeadersBound: the bound flushesNow uses for a HEADERS write is at least what
// the frames take, with small and large fields, many fields, values HPACK's Huffman
// code would lengthen, and header blocks needing CONTINUATION frames.
func TestResHeadersBound(t *testing.T) {
	many := http.Header{}
	for i := range 300 {
		many.Add("X-Field-"+strings.Repeat("k", i%40), strings.Repeat("v", i))
	}
	for name, w := range map[string]*writeResHeaders{
		"none":    {streamID: 1, httpResCode: 204},
		"typical": {streamID: 1, httpResCode: 200, h: http.Header{"Etag": {`"abc"`}, "Accept-Ranges": {"bytes"}}, date: "Wed, 02 Dec 2026 17:00:00 GMT", contentType: "application/octet-stream", contentLength: "1024"},
		"rare":    {streamID: 1, httpResCode: 200, h: http.Header{"X-Rare": {strings.Repeat("~}|{`^\\", 100)}}},
		"large":   {streamID: 1, httpResCode: 200, h: http.Header{"X-Large": {strings.Repeat("a", 40<<10)}}},
		"many":    {streamID: 1, httpResCode: 200, h: many},
		"trailer": {streamID: 1, h: http.Header{"X-Sum": {"42"}, "X-Other": {"1"}}, trailers: []string{"X-Sum"}, endStream: true},
	} {
		c := newHeaderContext()
		if err := w.writeFrame(c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, bound := c.out.Len(), resHeadersBound(w); got > bound {
			t.Errorf("%s: %d bytes written, bound %d", name, got, bound)
		}
	}
}
