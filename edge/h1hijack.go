package edge

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Hijack implements http.Hijacker as net/http's response does: a head already decided
// (WriteHeader) is written and flushed, the body bytes still in the response's buffer are
// not; the connection leaves the loop (no deadline, no longer tracked by Shutdown) with
// its reader, which holds what the client sent after the request (and the byte the
// background read took), and a writer straight to the connection.
func (w *h1Response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.released.Load() {
		panic("net/http: Hijack called after ServeHTTP finished")
	}
	c := w.c
	if c.hijacked.Load() {
		return nil, nil, http.ErrHijacked
	}
	if w.wroteHeader {
		if !w.headSent {
			w.writeHead(nil)
		}
		c.bw.Flush()
	}
	c.endRequest() // no background read from now on
	c.hijacked.Store(true)
	c.st.Store(connClosed)
	c.srv.untrack(c)
	c.tc.SetDeadline(time.Time{})
	if c.bg.hasByte {
		if _, err := c.br.Peek(c.br.Buffered() + 1); err != nil {
			return nil, nil, fmt.Errorf("unexpected Peek failure reading buffered byte: %w", err)
		}
	}
	c.bw.Reset(c.tc)
	return c.tc, bufio.NewReadWriter(c.br, c.bw), nil
}
