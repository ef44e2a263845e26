package h3srv

import (
	"time"

	"github.com/quic-go/quic-go"
)

// Stream credit. quic-go grants the client a new request stream, a MAX_STREAMS frame,
// when one of its streams completes: when the client acknowledged the response's last
// bytes. That acknowledgement arrives on its own, so each grant would leave in a packet
// of its own, one more UDP send for the server and one more packet for the client to
// acknowledge. With quic.Config.RequireStreamCreditRelease (edge sets it), quic-go waits
// for ReleaseStreamCredit too, and the server holds the credit of a batch's streams
// (batch.go) until the next batch: then most of them are acknowledged, and their grants
// leave in the next batch's packets. A batch releases its credit at once when no other
// request runs or the client is near its limit (creditTight). Credit held creditHold
// without a next batch (the connection went quiet, or its other handlers run long) is
// released by a timer, so a client never waits longer than that for a stream its limit
// allows. Streams that end otherwise (reset, refused, rejected, unidirectional) release
// their credit at once. Without RequireStreamCreditRelease the releases are no-ops and
// quic-go grants credit on completion.

// creditTight reports whether the credit held must go at once (c.mu held): no request of
// the connection runs to end in a next batch (a client that used all its streams could
// open none to bring one), or the client has used more than half of
// Server.MaxIncomingStreams (running and held streams). So a client always has half its
// limit to open, and waits at most creditHold for more.
func (c *conn) creditTight() bool {
	limit := c.srv.MaxIncomingStreams
	return c.active == 0 || (limit > 0 && c.active+len(c.credit) > limit/2)
}

// creditHold bounds how long a completed stream's credit is held for the next batch.
const creditHold = 5 * time.Millisecond

// creditHoldTime returns how long the server holds credit: creditHold, or the test's.
func (s *Server) creditHoldTime() time.Duration {
	if s.testCreditHold > 0 {
		return s.testCreditHold
	}
	return creditHold
}

// holdCredit holds str's credit for the next batch, arming the timer that bounds it.
func (c *conn) holdCredit(str *quic.Stream) {
	c.mu.Lock()
	if c.credit == nil {
		c.credit, c.creditSpare = c.creditSpare, nil
	}
	c.credit = append(c.credit, str)
	if len(c.credit) == 1 {
		if c.creditTimer == nil {
			c.creditTimer = time.AfterFunc(c.srv.creditHoldTime(), c.releaseCredit)
		} else {
			c.creditTimer.Reset(c.srv.creditHoldTime())
		}
	}
	c.mu.Unlock()
}

// releaseCredit releases the credit held.
func (c *conn) releaseCredit() {
	c.mu.Lock()
	held := c.credit
	c.credit = nil
	c.mu.Unlock()
	if len(held) == 0 {
		return
	}
	for i, str := range held {
		str.ReleaseStreamCredit()
		held[i] = nil
	}
	c.mu.Lock()
	if c.creditSpare == nil {
		c.creditSpare = held[:0]
	}
	c.mu.Unlock()
}
