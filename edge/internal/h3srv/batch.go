package h3srv

import "runtime"

// Response batching. quic-go sends a packet as soon as a stream has data and its
// connection's send loop gets to run: a handler's response written on its own leaves in
// a packet of its own, one UDP system call and one packet for the client to decrypt and
// acknowledge per request. A response whose last write is small (most are: the response
// buffer sends headers and body together, see response.go) is instead held when its
// handler returns and handed to the connection's batch: the first stream to end becomes
// the batch's writer, yields once so that the other handlers of the connection already
// runnable can end too, and writes every held response and its FIN in a row, so the send
// loop, woken by the first write, packs them together. As the HTTP/2 write coalescer does
// for TLS records (edge/writecoalescer.go). A stream that is the connection's only one
// does not wait.
//
// The batch's writer must never wait on one stream while others are held: a held write
// is one quic-go copies into a STREAM frame and returns from at once, whatever the
// stream's flow-control credit (maxHeldWrite, and nothing written to the stream before),
// and closing a stream does not wait either.

// maxHeldWrite is the largest last write held for the batch. quic-go's SendStream.Write
// copies a write of up to a packet's payload (protocol.MaxPacketBufferSize, 1452 bytes)
// into the frame it sends next, on a stream with no frame pending, and returns.
const maxHeldWrite = 1200

// completeBatched completes st (stream.complete) in the connection's batch, on this
// goroutine if no batch is being written, else on the batch writer's.
func (c *conn) completeBatched(st *stream) {
	c.mu.Lock()
	c.ending = append(c.ending, st)
	if c.completing {
		c.mu.Unlock()
		return
	}
	c.completing = true
	others := c.active > len(c.ending) // handlers still running may end meanwhile
	c.mu.Unlock()
	if others {
		runtime.Gosched()
	}
	for c.completeEnding() {
	}
}

// completeEnding completes the streams waiting in the batch and reports whether there
// were any; when there were none, the batch's writer is gone.
func (c *conn) completeEnding() bool {
	c.mu.Lock()
	batch := c.ending
	if len(batch) == 0 {
		c.completing = false
		c.mu.Unlock()
		return false
	}
	c.ending, c.spare = c.spare[:0], nil
	c.mu.Unlock()
	c.releaseCredit() // the last batch's: its MAX_STREAMS frames leave with this one
	for i, st := range batch {
		if st.complete(false) {
			c.holdCredit(st.str)
		}
		batch[i] = nil
	}
	c.mu.Lock()
	c.spare = batch[:0]
	tight := c.creditTight()
	c.mu.Unlock()
	if tight {
		c.releaseCredit()
	}
	return true
}
