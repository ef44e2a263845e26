package edge

import (
	"sync"
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
	mu      sync.Mutex    // orders moving the socket's deadline with recording it
	above   atomic.Int64  // the deadline set from above (SetWriteDeadline, SetDeadline)
	set     atomic.Int64  // the socket's write deadline, as last set
}

// beforeWrite moves c's write deadline for a write to the socket, if it must.
func (c *helloConn) beforeWrite() {
	d := &c.bytes
	if d.timeout <= 0 {
		return
	}
	now := time.Now()
	if _, fresh := d.want(now); fresh {
		return
	}
	d.mu.Lock()
	if want, fresh := d.want(now); !fresh { // a deadline from above may have come meanwhile
		d.set.Store(want)
		c.Conn.SetWriteDeadline(time.Unix(0, want))
	}
	d.mu.Unlock()
}

// want returns the write deadline a write at now should have, and whether the socket's
// is fresh enough to keep.
func (d *byteDeadline) want(now time.Time) (want int64, fresh bool) {
	want = now.Add(d.timeout).UnixNano()
	if above := d.above.Load(); above != 0 && above < want {
		want = above
	}
	set := d.set.Load()
	return want, set != 0 && set <= want && set > want-int64(byteDeadlineSlack)
}

// setFromAbove records t as the deadline from above and puts it on the socket with set
// (the connection's SetWriteDeadline or SetDeadline), in one step against beforeWrite:
// a write moving the deadline meanwhile cannot leave the socket's and the recorded
// one apart.
func (c *helloConn) setFromAbove(t time.Time, set func(time.Time) error) error {
	c.bytes.mu.Lock()
	defer c.bytes.mu.Unlock()
	c.deadlineFromAbove(t)
	return set(t)
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
