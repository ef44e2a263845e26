package edge

// Reading ahead while recording the ClientHello: crypto/tls reads a record's 5-byte header
// with a buffer of about 512 bytes, then the rest of the record, two read(2) calls for a
// ClientHello of 1.5 KiB (one with a post-quantum key share). helloConn reads into the
// record's spare room instead (2 KiB from the pool, grown up to maxPassthroughHello) and
// serves crypto/tls from it: one call when the ClientHello arrived whole. Bytes read ahead
// beyond the ClientHello are served after recording stops (a terminated site) or replayed
// to the upstream with it (a passthrough site): nothing read is lost or reordered.

// Read implements net.Conn: from the record while it holds bytes not served, reading
// ahead into it while recording, else from the connection.
func (c *helloConn) Read(p []byte) (int, error) {
	if !c.recording.Load() && !c.pending.Load() {
		return c.Conn.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.mu.Lock()
	if n := c.serveLocked(p); n > 0 {
		c.mu.Unlock()
		return n, nil
	}
	if c.rec == nil || !c.recording.Load() {
		c.mu.Unlock()
		return c.Conn.Read(p)
	}
	room := c.roomLocked(len(p))
	if room == nil { // the record is full: read on, unrecorded
		c.mu.Unlock()
		n, err := c.Conn.Read(p)
		if n > 0 {
			c.mu.Lock()
			c.overflow = true
			c.mu.Unlock()
		}
		return n, err
	}
	c.reading = true
	c.mu.Unlock()
	n, err := c.Conn.Read(room)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reading = false
	*c.rec = (*c.rec)[:len(*c.rec)+n]
	k := c.serveLocked(p)
	if c.rec != nil && !c.recording.Load() { // stopped (Close) during the read
		c.pending.Store(true)
	}
	return k, err
}

// serveLocked copies bytes of the record not served yet to p (c.mu held); when the
// recording has stopped and all are served, the record goes back to the pool.
func (c *helloConn) serveLocked(p []byte) int {
	if c.rec == nil || c.served == len(*c.rec) {
		return 0
	}
	n := copy(p, (*c.rec)[c.served:])
	c.served += n
	if !c.recording.Load() && c.served == len(*c.rec) {
		c.releaseLocked()
	}
	return n
}

// roomLocked returns the record's spare room for a read of at least want bytes (as much
// as there is), growing the record up to maxPassthroughHello; nil when it is full.
func (c *helloConn) roomLocked(want int) []byte {
	b := *c.rec
	if cap(b)-len(b) < want && cap(b) < maxPassthroughHello {
		nb := make([]byte, len(b), min(max(2*cap(b), len(b)+want), maxPassthroughHello))
		copy(nb, b)
		*c.rec = nb
		b = nb
	}
	room := b[len(b):min(cap(b), maxPassthroughHello)]
	if len(room) == 0 {
		return nil
	}
	return room
}

// pollFirster is a connection whose next read may poll before it reads (limitConn).
type pollFirster interface{ PollFirst() }

// PollFirst has the connection's next read poll before it reads (limitConn.PollFirst),
// when that read goes to the connection: not while recording or serving recorded bytes.
func (c *helloConn) PollFirst() {
	if c.recording.Load() || c.pending.Load() {
		return
	}
	if p, ok := c.Conn.(pollFirster); ok {
		p.PollFirst()
	}
}
