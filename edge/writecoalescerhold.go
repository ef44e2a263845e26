package edge

// Held writes: the HTTP/2 serve goroutine writes a burst itself. The flusher goroutine a
// writeCoalescer starts per burst yields to the goroutines already runnable and then
// writes: a goroutine start, its yields and a wake-up of the serve goroutine per burst.
// The serve goroutine, which makes every write of the connection's frames, instead holds
// the coalescer's writes (holdWrites) before it flushes, and once it has no message
// waiting (after yielding a few times itself, as the flusher did) writes the held bytes
// with non-blocking system calls (flushHeld, h2srv.IdleFlusher). What the socket does
// not take at once, and everything when the connection cannot write so, goes to the
// flusher as before: the serve goroutine never waits for the network.

// tryWriter is a connection that writes what its socket takes without waiting
// (limitConn, with rawio).
type tryWriter interface {
	TryWrite(p []byte) (int, error)
}

// holdWrites makes Write leave the bytes to flushHeld instead of starting the flusher
// (unless too many are pending).
func (w *writeCoalescer) holdWrites() {
	w.mu.Lock()
	w.held = true
	w.mu.Unlock()
}

// flushHeld ends the hold and writes the pending bytes: what the socket takes without
// waiting here, the rest from the flusher goroutine.
func (w *writeCoalescer) flushHeld() {
	w.mu.Lock()
	w.held = false
	if w.pending == nil || w.flushing || w.err != nil || w.closed {
		w.mu.Unlock()
		return
	}
	tw, _ := w.conn.(tryWriter)
	buf := w.pending
	w.pending = nil
	w.flushing = true
	w.mu.Unlock()
	n := 0
	var err error
	if tw != nil {
		n, err = tw.TryWrite(*buf)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err != nil:
		w.err = err
		w.flushing = false
		putPendingBuf(buf)
		putPendingBuf(w.pending)
		w.pending = nil
	case n < len(*buf) || w.pending != nil: // the rest, then what came meanwhile
		rest := pendingBufs.Get().(*[]byte)
		*rest = append(*rest, (*buf)[n:]...)
		if w.pending != nil {
			*rest = append(*rest, *w.pending...)
			putPendingBuf(w.pending)
		}
		putPendingBuf(buf)
		if len(*rest) == 0 {
			putPendingBuf(rest)
			w.flushing = false
			break
		}
		w.pending = rest
		go w.flush()
	default:
		putPendingBuf(buf)
		w.flushing = false
	}
	w.drained.Broadcast()
}
