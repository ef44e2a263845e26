package edge

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge/proxy"
)

// HTTP/1.1 write batching. net/http's HTTP/1.1 server writes a response through a 4 KiB
// buffer: an 8 KiB body leaves as two writes to the *tls.Conn (the buffer with the head,
// then the rest), and crypto/tls makes a record and a write system call of each, and of
// every 16 KiB of a larger write (a 64 KiB body: six or seven). The proxy's direct
// forward path knows when the bytes of a response come without waiting: while it writes
// what it read of a body of known length, it batches the connection's writes
// (proxy.Info.Batch, set by serveTLS for HTTP/1.1 requests): the records are appended to a
// pooled buffer and written in one system call when the batch ends: before the proxy
// reads what may wait for the upstream, when net/http is done with the response (it sets
// the connection's deadlines next: flushBatch), or once maxBatch bytes are pending.
//
// What the connection owes the TLS stack stays: the bytes and their order are those
// crypto/tls wrote; a failed write is kept and returned by every later Write and by the
// end of the batch (the proxy treats it as the client's write error); Close writes what
// is pending first, within closeFlushTimeout.

// maxBatch is how many bytes a batch holds before it writes them: more than a 64 KiB
// body with its head and its records' overhead, so that such a response, proxied from an
// upstream that sent it at once, leaves in one write.
const maxBatch = 128 << 10

// batchBufSize is the capacity of a pending buffer: maxBatch and one more TLS record (a
// Write from crypto/tls is one record, at most 16 KiB of plaintext and its overhead), so
// that a batch never grows its buffer.
const batchBufSize = maxBatch + 17<<10

// plainHTTP1Writes turns batching off: BenchmarkHTTP1Proxy and the differential test
// compare.
var plainHTTP1Writes atomic.Bool

// writeBatch is the batching state of one helloConn.
type writeBatch struct {
	mu      sync.Mutex
	on      bool
	pending *[]byte // nil when nothing is pending
	err     error   // the first write error; every later Write returns it
}

// batchBufs recycles pending buffers.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, batchBufSize); return &b }}

// h1Batcher is proxy.Batcher for the connection c.
type h1Batcher struct{ c *helloConn }

// StartBatch implements proxy.Batcher.
func (b h1Batcher) StartBatch() { b.c.startBatch() }

// EndBatch implements proxy.Batcher.
func (b h1Batcher) EndBatch() error { return b.c.endBatch() }

// batcherOf returns the proxy.Batcher of r's connection: an HTTP/1.1 request over a
// helloConn (found in r's context, ConnContext), or nil.
func batcherOf(r *http.Request) proxy.Batcher {
	if r.ProtoMajor != 1 || plainHTTP1Writes.Load() {
		return nil
	}
	return batcherIn(r.Context())
}

// batcherIn returns the proxy.Batcher of the helloConn in ctx, or nil.
func batcherIn(ctx context.Context) proxy.Batcher {
	if c, ok := ctx.Value(helloConnKey{}).(*helloConn); ok {
		return h1Batcher{c}
	}
	return nil
}

// batcherFor is batcherOf(r) for a request answered through w. A request of edge's
// HTTP/1.1 loop, under its own context, gets its connection's batcher, looked up in the
// context once per connection (the connection's values are every request's) instead of
// through the request's chain of contexts every time.
func batcherFor(w http.ResponseWriter, r *http.Request) proxy.Batcher {
	hw, ok := w.(*h1Response)
	if !ok || r.Context() != context.Context(&hw.ctx) {
		return batcherOf(r)
	}
	if r.ProtoMajor != 1 || plainHTTP1Writes.Load() {
		return nil
	}
	c := hw.c
	if !c.batchFound {
		c.batch, c.batchFound = batcherIn(r.Context()), true
	}
	return c.batch
}

// helloConnKey is the context key of a connection's helloConn.
type helloConnKey struct{}

func (c *helloConn) startBatch() {
	c.batch.mu.Lock()
	c.batch.on = true
	c.batch.mu.Unlock()
	c.batching.Store(true)
}

// endBatch writes what is pending and stops batching. It returns the first write error
// (after which batching stays set, so that every later Write returns it: crypto/tls did
// not see it fail).
func (c *helloConn) endBatch() error {
	b := &c.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	b.on = false
	err := c.writePendingLocked()
	c.batching.Store(err != nil)
	return err
}

// flushBatch ends a batch still on: net/http is done with the response (it sets the
// connection's deadlines before it waits for the next request) or closes the connection.
func (c *helloConn) flushBatch() {
	if c.batching.Load() {
		c.endBatch()
	}
}

// limitBatchWrite applies a write deadline t (not zero) before flushBatch waits for the
// batch's lock: a batch's write blocked on a client that stopped reading holds it, and the
// new deadline (crypto/tls's close_notify sets one) is what ends that write. A zero t is
// applied after the flush, which stays under the deadline before.
func (c *helloConn) limitBatchWrite(t time.Time) {
	if !t.IsZero() && c.batching.Load() {
		c.Conn.SetWriteDeadline(t)
	}
}

// batchWrite is Write while batching: p is appended to the pending bytes, written once
// maxBatch are.
func (c *helloConn) batchWrite(p []byte) (int, error) {
	b := &c.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if !b.on {
		c.beforeWrite()
		return c.Conn.Write(p)
	}
	if b.pending == nil {
		b.pending = batchBufs.Get().(*[]byte)
	}
	*b.pending = append(*b.pending, p...)
	if len(*b.pending) >= maxBatch {
		if err := c.writePendingLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// writePendingLocked writes the pending bytes (c.batch.mu held) and returns the first
// write error, kept for every later Write.
func (c *helloConn) writePendingLocked() error {
	b := &c.batch
	if buf := b.pending; buf != nil {
		b.pending = nil
		if b.err == nil {
			c.beforeWrite()
			_, b.err = c.Conn.Write(*buf)
		}
		*buf = (*buf)[:0]
		if cap(*buf) == batchBufSize {
			batchBufs.Put(buf)
		}
	}
	return b.err
}

// closeBatch writes what is pending before the connection closes, within
// closeFlushTimeout.
func (c *helloConn) closeBatch() {
	// The deadline before the lock: it also ends a batch's write blocked on a client that
	// stopped reading, which holds the lock (Server.Close would wait for it forever).
	c.setFromAbove(time.Now().Add(closeFlushTimeout), c.Conn.SetWriteDeadline)
	b := &c.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	b.on = false
	defer func() { c.batching.Store(b.err != nil) }()
	if b.pending != nil {
		c.writePendingLocked()
	}
}

// connContext is the HTTPS server's ConnContext: c's helloConn (under crypto/tls) goes
// into the context of its requests, for batcherOf.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		if hc, ok := tc.NetConn().(*helloConn); ok {
			return context.WithValue(ctx, helloConnKey{}, hc)
		}
	}
	return ctx
}
