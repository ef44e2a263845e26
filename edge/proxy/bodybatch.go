package proxy

// minBatchBody is the smallest body copyBody batches: a smaller one leaves with its head
// in one write anyway (net/http's connection buffer is 4 KiB).
const minBatchBody = 4 << 10

// bodyBatch batches the client connection's writes of the body's bytes that are at hand,
// and ends the batch before a read that may wait for the upstream, so that nothing ready
// waits with it.
type bodyBatch struct {
	b  Batcher // nil: no batching
	on bool
}

// beforeWait ends the batch before a read that may wait for the upstream, and returns
// the write error of the batch.
func (bb *bodyBatch) beforeWait() error {
	if !bb.on {
		return nil
	}
	bb.on = false
	return bb.b.EndBatch()
}

// beforeWrite starts a batch for the bytes read.
func (bb *bodyBatch) beforeWrite() {
	if bb.b != nil && !bb.on {
		bb.b.StartBatch()
		bb.on = true
	}
}

// abort ends a batch the copy left on after an error or a panic (the connection's write
// error, if any, shows at its next write).
func (bb *bodyBatch) abort() {
	if bb.on {
		bb.on = false
		bb.b.EndBatch()
	}
}
