package edge

import (
	"bufio"
	"net/http"
	"sync"
)

// One TLS record for a response that fits one. The connection's buffer (h1Writers) is
// 4 KiB, kept for the connection's life: a response of a few KiB leaves as two writes to
// the *tls.Conn, the buffer with the head, then the rest, and crypto/tls seals a record
// of each (an 8 KiB body: two records, even when write batching sends them in one system
// call). A response whose declared body (Content-Length) does not fit the buffer with its
// head but fits one record with it is written through a record-sized buffer instead,
// taken from a pool for that response only: the head and the body leave in one write, one
// record. The bytes are the same; only where the buffer is flushed changes.

// recordBufSize is crypto/tls's largest record payload (maxPlaintext): a flush of this
// buffer is one record, once the connection's records have grown to full size.
const recordBufSize = 16 << 10

// recordHeadRoom is what a response's head is allowed in the record beside its body.
const recordHeadRoom = 1 << 10

var recordWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, recordBufSize) }}

// useRecordBuf switches the connection to a record-sized buffer for w, before its head is
// written, when its body fits one record with the head but not the connection's buffer.
func (w *h1Response) useRecordBuf() {
	c := w.c
	if c.ownBW != nil || w.clen <= 0 || w.clen > recordBufSize-recordHeadRoom ||
		w.clen+recordHeadRoom <= int64(c.bw.Available()) ||
		w.req.Method == http.MethodHead || !bodyAllowedForStatus(w.status) {
		return
	}
	c.bw.Flush() // empty unless an informational response is pending; order kept
	rb := recordWriters.Get().(*bufio.Writer)
	rb.Reset(errWriter{c})
	c.ownBW, c.bw = c.bw, rb
}

// dropRecordBuf gives the connection its own buffer back, what the record-sized one holds
// written first (nothing after finish). A hijacked connection keeps the one it has.
func (c *h1Conn) dropRecordBuf() {
	if c.ownBW == nil || c.hijacked.Load() {
		return
	}
	c.bw.Flush()
	c.bw.Reset(nil)
	recordWriters.Put(c.bw)
	c.bw, c.ownBW = c.ownBW, nil
}
