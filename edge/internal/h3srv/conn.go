package h3srv

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync"
	"time"

	"github.com/edgectl/edge/edge/internal/reqcancel"
	"github.com/edgectl/edge/edge/internal/workers"
	"github.com/quic-go/quic-go"
)

// conn is one QUIC connection's HTTP/3 state.
type conn struct {
	srv        *Server
	qc         *quic.Conn
	base       context.Context // the requests' contexts' values
	tls        *tls.ConnectionState
	remoteAddr string
	ctrl       *quic.SendStream // the server's control stream

	mu       sync.Mutex
	active   int         // request streams being served
	draining bool        // GOAWAY sent: close once no request is left
	idle     *time.Timer // closes the connection after IdleTimeout without requests
	uni      [4]bool     // the client's control, push, QPACK encoder and decoder streams seen

	huff huffCache // the client's Huffman-coded strings, decoded

	ending     []*stream // handlers returned, streams waiting for the batch (batch.go)
	spare      []*stream // the batch's other slice, reused
	completing bool      // a goroutine writes the batch

	credit      []*quic.Stream // streams of the last batch, their credit held (credit.go)
	creditSpare []*quic.Stream // credit's other slice, reused
	creditTimer *time.Timer    // releases credit held too long

	running    []*stream   // requests whose handler runs and whose client is not watched yet
	watchTimer *time.Timer // arms the watch of running requests (watch.go)
}

// newConn returns the state of qc, served by s.
func newConn(s *Server, qc *quic.Conn) *conn {
	state := qc.ConnectionState().TLS
	c := &conn{srv: s, qc: qc, tls: &state, remoteAddr: qc.RemoteAddr().String()}
	ctx := context.WithValue(qc.Context(), http.ServerContextKey, s)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, qc.LocalAddr())
	ctx = reqcancel.WithSource(ctx, c)
	if s.ConnContext != nil {
		ctx = s.ConnContext(ctx, qc)
	}
	c.base = ctx
	return c
}

// serve serves the connection's requests until it ends.
func (c *conn) serve() {
	if err := c.openControl(); err != nil {
		c.qc.CloseWithError(codeInternalError.app(), "")
		return
	}
	if d := c.srv.IdleTimeout; d > 0 {
		c.mu.Lock()
		c.idle = time.AfterFunc(d, c.idleClose)
		c.mu.Unlock()
	}
	go c.acceptUni()
	c.acceptRequests()
}

// streamJob is a request stream for a worker.
type streamJob struct {
	c   *conn
	str *quic.Stream
}

// streamWorkers runs request streams on reused goroutines, whose stacks have grown to
// what a proxied request needs (see package workers).
var streamWorkers = workers.Pool[streamJob]{Run: func(j streamJob) { j.c.serveStream(j.str) }, MaxIdle: 1024}

// acceptRequests accepts request streams and hands each to a worker; after the server's
// graceful shutdown began it sends GOAWAY and refuses new streams.
func (c *conn) acceptRequests() {
	s := c.srv
	ctx := s.graceCtx
	var next quic.StreamID
	for {
		str, err := c.qc.AcceptStream(ctx)
		if err != nil {
			switch {
			case c.qc.Context().Err() != nil:
				return
			case s.closeCtx.Err() != nil:
				c.qc.CloseWithError(codeNoError.app(), "")
				return
			}
			c.goAway(next)
			ctx = s.closeCtx
			continue
		}
		if ctx == s.closeCtx {
			str.CancelRead(codeRequestRejected.stream())
			str.CancelWrite(codeRequestRejected.stream())
			str.ReleaseStreamCredit()
			continue
		}
		next = str.StreamID() + 4
		c.streamStarted()
		streamWorkers.Start(streamJob{c: c, str: str})
	}
}

// goAway sends GOAWAY with the first stream ID not served, and marks the connection to
// close once its last request ends.
func (c *conn) goAway(next quic.StreamID) {
	frame := appendFrameHeader(nil, frameGoAway, uint64(varintLen(uint64(next))))
	frame = appendVarint(frame, uint64(next))
	go c.ctrl.Write(frame) // may wait for flow control credit; ends with the connection
	c.mu.Lock()
	c.draining = true
	idle := c.active == 0
	c.mu.Unlock()
	if idle {
		c.closeDrained()
	}
}

// minLinger is the least time a drained connection stays open after its last response.
const minLinger = time.Second

// closeDrained closes a draining connection whose last request has ended, after a
// linger: closing at once would drop what of the last responses (and the GOAWAY) is not
// yet sent or acknowledged, and quic-go tells no one when that is. The client usually
// closes first (RFC 9114 section 5.2); new streams meanwhile are refused.
func (c *conn) closeDrained() {
	st := c.qc.ConnectionStats()
	linger := max(minLinger, 4*(st.SmoothedRTT+4*st.MeanDeviation))
	time.AfterFunc(linger, func() { c.qc.CloseWithError(codeNoError.app(), "") })
}

// streamStarted counts a request stream in, stopping the idle timer.
func (c *conn) streamStarted() {
	c.mu.Lock()
	c.active++
	if c.idle != nil {
		c.idle.Stop()
	}
	c.mu.Unlock()
}

// streamDone counts a request stream out: the last one closes a draining connection
// (closeDrained), or starts the idle timer.
func (c *conn) streamDone() {
	c.mu.Lock()
	c.active--
	last := c.active == 0
	if last && c.idle != nil && !c.draining {
		c.idle.Reset(c.srv.IdleTimeout)
	}
	drained := last && c.draining
	c.mu.Unlock()
	if drained {
		c.closeDrained()
	}
}

// idleClose closes the connection if it still has no request.
func (c *conn) idleClose() {
	c.mu.Lock()
	idle := c.active == 0
	c.mu.Unlock()
	if idle {
		c.qc.CloseWithError(codeNoError.app(), "")
	}
}

// connError closes the connection with code (a protocol violation) and returns an error
// saying so.
func (c *conn) connError(code errCode, reason string) error {
	c.qc.CloseWithError(code.app(), reason)
	return connErr{code, reason}
}
