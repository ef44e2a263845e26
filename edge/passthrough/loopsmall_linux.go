package passthrough

import "sync"

// Small transfers through user space. A direction of a loop's connection starts by
// reading into a user-space buffer of smallBuf bytes and writing it out, as HAProxy does
// (it splices only large transfers, and by default not at all): for the few KiB of a
// handshake or a request, read(2) and write(2) cost less than splicing into a pipe and
// out of it, and a read that does not fill the buffer shows that the socket is empty,
// which a splice cannot (it also stops short when the pipe is full), so no read is made
// to see EAGAIN. The first read that fills the buffer starts the bulk: the direction
// splices through pipes from then on.

// smallBuf is the size of the user-space buffer of a direction's small reads (HAProxy's
// default bufsize).
const smallBuf = 16 << 10

// smallBufs recycles the buffers of small reads held by directions whose destination
// was full; a loop keeps one spare besides (getBuf).
var smallBufs = sync.Pool{New: func() any { return &pipe{r: -1, w: -1, buf: make([]byte, smallBuf), small: true} }}

// getBuf returns an empty buffer for a small read: the loop's spare, or a pooled one.
func (l *loop) getBuf() *pipe {
	if p := l.spareBuf; p != nil {
		l.spareBuf = nil
		return p
	}
	return smallBufs.Get().(*pipe)
}

// putBuf takes back a small read's buffer, emptied (bytes left in it are dropped: the
// connection ended).
func (l *loop) putBuf(p *pipe) {
	p.buffered, p.off = 0, 0
	if l.spareBuf == nil {
		l.spareBuf = p
		return
	}
	smallBufs.Put(p)
}

// readShort follows a read of n bytes from side src into the user-space buffer p of the
// direction d. A read that filled a small buffer starts d's bulk. One that did not fill
// p emptied the socket: its readiness is cleared (edge-triggered, the next bytes bring
// an event), unless the peer's end was reported already, which brings no other event:
// the next read sees it.
func (c *lconn) readShort(d *ldir, p *pipe, src, n int) {
	switch {
	case n == len(p.buf):
		if p.small {
			d.bulk = true
		}
	case !c.hup[src]:
		c.rd[src] = false
	}
}
