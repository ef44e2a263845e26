package h2srv

import (
	"os"
	"time"
)

// edge: stalled streams. The connection's writes are bounded by WriteByteTimeout (a
// client that stops reading fails its connection), but a client that keeps reading the
// connection while it grants a stream no flow-control credit (SETTINGS_INITIAL_WINDOW_SIZE
// 0 and no WINDOW_UPDATE, or a connection window it never opens) holds that stream's
// handler, and what the handler holds (a proxied upstream), for ever: upstream bounds it
// only by WriteTimeout, which edge leaves off for downloads. Here a stream whose DATA
// waits for credit longer than WriteByteTimeout is reset (INTERNAL_ERROR, as a passed
// WriteTimeout does): the write scheduler marks when a stream starts waiting (Consume
// finds no credit) and when it gets credit again, on the serve goroutine, and a timer per
// stream, armed at the start of a wait, checks it. A stream whose own window is open
// waits for the connection's: that wait counts while no stream of the connection gets
// credit (the client stopped opening it), not while the credit goes to the streams the
// scheduler serves first (RFC 9218: the earlier of the same urgency, until it ends).

// stallBegan records that st's DATA waits for flow-control credit, arming the check.
func (st *stream) stallBegan() {
	d := st.sc.bw.byteTimeout
	if d <= 0 || !st.stalledSince.IsZero() {
		return
	}
	st.stalledSince = time.Now()
	st.stallMark = st.sc.creditTaken
	if st.stallTimer == nil {
		st.stallTimer = time.AfterFunc(d, st.onStallTimer)
	} else {
		st.stallTimer.Reset(d)
	}
}

// stallEnded records that st's DATA got credit.
func (st *stream) stallEnded() {
	st.stalledSince = time.Time{}
	st.sc.creditTaken++
}

// onStallTimer runs on the timer's goroutine: the check goes to the serve goroutine.
func (st *stream) onStallTimer() { st.sc.sendServeMsg(func(*serverConn) { st.checkStall() }) }

// checkStall resets st if its DATA has waited for credit WriteByteTimeout, or waits for
// the rest of it.
func (st *stream) checkStall() {
	sc := st.sc
	sc.serveG.check()
	if st.state == stateClosed || st.stalledSince.IsZero() || st.resetQueued {
		return
	}
	if left := sc.bw.byteTimeout - time.Since(st.stalledSince); left > 0 {
		st.stallTimer.Reset(left)
		return
	}
	if st.waitsForConnOnly() && sc.creditTaken != st.stallMark {
		// The connection's window, which the client keeps opening, went to the streams
		// the scheduler serves first: st waits for its turn, not for the client.
		st.stalledSince, st.stallMark = time.Now(), sc.creditTaken
		st.stallTimer.Reset(sc.bw.byteTimeout)
		return
	}
	sc.resetStream(StreamError{StreamID: st.id, Code: ErrCodeInternal, Cause: os.ErrDeadlineExceeded})
}

// waitsForConnOnly reports whether st's own window is open: its DATA waits for the
// connection's.
func (st *stream) waitsForConnOnly() bool {
	f := &st.flow
	return f.conn != nil && int64(f.conn.initial)+int64(f.delta) > 0
}
