package edge

import (
	"sync/atomic"
	"time"
)

// Write byte timeout over TCP. A client that keeps its connection open but stops reading
// fills its socket's buffers, and a write to it then waits for ever: the handler, and the
// upstream connection it copies from, are held until shutdown (nginx's send_timeout,
// 60 s, bounds the same wait). HTTP/2's writes go through the writeCoalescer, each
// bounded by Limits.WriteByteTimeout; the connections HTTP/2 does not take (HTTP/1.1,
// the TLS handshake, hijacked ones) get the same bound here: before each write to the
// socket, the write deadline is moved to WriteByteTimeout from now, never past a
// deadline set from above (WriteTimeout, the handshake's, a close's). The deadline is
// moved only when it is more than byteDeadlineSlack older than that, so a connection's
// writes touch it about once a second: a write that makes no progress fails after
// between WriteByteTimeout-byteDeadlineSlack and WriteByteTimeout.

// byteDeadlineSlack is how stale the write deadline may be before a write moves it.
const byteDeadlineSlack = time.Second

// byteDeadline is a helloConn's write byte timeout state. Times are Unix nanoseconds, 0
// for none.
type byteDeadline struct {
	timeout time.Duration // 0: none
	above   atomic.Int64  // the deadline set from above (SetWriteDeadline, SetDeadline)
	set     atomic.Int64  // the socket's write deadline, as last set
}

// beforeWrite moves c's write deadline for a write to the socket, if it must.
func (c *helloConn) beforeWrite() {
	d := &c.bytes
	if d.timeout <= 0 {
		return
	}
	want := time.Now().Add(d.timeout).UnixNano()
	if above := d.above.Load(); above != 0 && above < want {
		want = above
	}
	if set := d.set.Load(); set != 0 && set <= want && set > want-int64(byteDeadlineSlack) {
		return
	}
	d.set.Store(want)
	c.Conn.SetWriteDeadline(time.Unix(0, want))
}

// deadlineFromAbove records t, a write deadline set from above (zero: none), which the
// byte timeout never goes past; the caller sets it on the socket.
func (c *helloConn) deadlineFromAbove(t time.Time) {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	c.bytes.above.Store(ns)
	c.bytes.set.Store(ns)
}
