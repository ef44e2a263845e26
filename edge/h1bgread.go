package edge

import (
	"net"
	"sync"
	"time"
)

// Noticing a client that leaves while its request is served. net/http starts a read of
// one byte in a new goroutine for every request, whose EOF cancels the connection's
// context, and so the request's (the proxy then gives up on the upstream); so does any
// other failed read or write (h1Source, errWriter). The loop starts that read only when
// the handler has run for bgReadAfter: most requests are answered sooner, and the timer
// it takes is reset, not made, per request. A byte that read gets (a pipelined request) is
// read first by the next request, as in net/http.

// bgReadAfter is how long a handler runs before the loop watches for the client leaving.
const bgReadAfter = 20 * time.Millisecond

// bgRead is the watching state of an h1Conn.
type bgRead struct {
	mu      sync.Mutex
	cond    sync.Cond
	timer   *time.Timer
	serving bool // a handler runs
	body    bool // the request's body is not read whole yet: no watching
	inRead  bool // the read is under way
	aborted bool // endRequest ended the read
	hasByte bool
	b       [1]byte
}

// beginRequest arms the watch for a request; with a body, it starts once the body is
// read whole (bodyDone), as net/http's.
func (c *h1Conn) beginRequest(body bool) {
	g := &c.bg
	g.mu.Lock()
	g.serving, g.body = true, body
	g.mu.Unlock()
	if g.timer == nil {
		g.cond.L = &g.mu
		g.timer = time.AfterFunc(bgReadAfter, c.startBackgroundRead)
		return
	}
	g.timer.Reset(bgReadAfter)
}

// endRequest disarms the watch and ends the read if it started (net/http's
// abortPendingRead).
func (c *h1Conn) endRequest() {
	g := &c.bg
	if g.timer == nil {
		return
	}
	g.timer.Stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.serving = false
	// A stopped timer does not mean that no read runs: a callback the timer started for
	// the previous request, late, may have found this one serving (beginRequest had
	// re-armed the timer) and started the read.
	if !g.inRead {
		return
	}
	g.aborted = true
	c.tc.SetReadDeadline(aLongTimeAgo)
	for g.inRead {
		g.cond.Wait()
	}
	c.tc.SetReadDeadline(time.Time{})
}

var aLongTimeAgo = time.Unix(1, 0)

func (c *h1Conn) startBackgroundRead() {
	g := &c.bg
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.serving || g.body || g.inRead || g.hasByte {
		return
	}
	g.inRead = true
	c.tc.SetReadDeadline(time.Time{})
	go c.backgroundRead()
}

// bodyDone is called when the request's body was read whole: the watch may start, once
// the handler has run bgReadAfter from now.
func (c *h1Conn) bodyDone() {
	g := &c.bg
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.body && g.serving {
		g.body = false
		g.timer.Reset(bgReadAfter)
	}
}

func (c *h1Conn) backgroundRead() {
	g := &c.bg
	n, err := c.tc.Read(g.b[:])
	g.mu.Lock()
	if n == 1 {
		g.hasByte = true
	}
	var ne net.Error
	if err != nil && !(g.aborted && asNetError(err, &ne) && ne.Timeout()) {
		c.readFailed() // the client left: the handler's context ends
	}
	g.aborted, g.inRead = false, false
	g.mu.Unlock()
	g.cond.Broadcast()
}

func asNetError(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	*ne = e
	return ok
}

// h1Source is what the connection's bufio.Reader reads: the byte the background read got
// first. It is only read when no handler runs, so after endRequest, which orders it, or
// while the handler reads the body, before the background read may start. A failed read
// ends the connection's context, as net/http's connReader does.
type h1Source struct{ c *h1Conn }

// Read implements io.Reader.
func (s h1Source) Read(p []byte) (int, error) {
	g := &s.c.bg
	if g.hasByte && len(p) > 0 {
		p[0], g.hasByte = g.b[0], false
		return 1, nil
	}
	n, err := s.c.tc.Read(p)
	if err != nil {
		s.c.readFailed()
	}
	return n, err
}
