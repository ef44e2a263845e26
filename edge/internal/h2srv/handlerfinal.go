package h2srv

import "sync"

// edge: the end of a response in one hand-off (README.md, "Changes").
//
// Upstream, a handler's response leaves in two blocking round trips to the serve
// goroutine once the handler returns: writeHeaders waits for the HEADERS frame to be
// written (the header map might still change), then writeDataFromHandler waits for the
// DATA frame (its bytes are the handler's buffer). Once the handler is done, neither wait
// is needed: the headers are the private snapshot (snapHeader), and a final chunk of at
// most handlerChunkWriteSize bytes is copied. Both frames go to the serve goroutine in
// one message, a handlerFinal, and the handler goroutine does not wait for them. The
// stream stays open (and counted against SETTINGS_MAX_CONCURRENT_STREAMS) until its
// END_STREAM is written, so the copies held are bounded by the streams a client may open.

// handlerFinal is the end of a finished handler's response: its HEADERS (nil when
// already sent) and its last DATA, END_STREAM set. It is never written itself: the
// serve goroutine queues its frames (writeHandlerFinal).
type handlerFinal struct {
	headers    writeResHeaders // the HEADERS, in the same allocation (respalloc.go)
	hasHeaders bool            // headers are set (they were not sent before)
	data       writeData       // the last DATA, p a private copy; unused with noData
	noData     bool            // no DATA: the headers end the stream (HEAD, empty body), or are all
	done       bool            // the handler is done: handlerDone follows the frames
}

func (*handlerFinal) writeFrame(writeContext) error { panic("h2srv: handlerFinal written") }
func (*handlerFinal) staysWithinBuffer(int) bool    { return false }

// writeResHeaders sends the response headers h, from the handler goroutine. Once the
// handler is done, they are held in the handlerFinal for writeFinalData (or sent at once
// with no wait if they end the stream); before, they go as upstream does (writeHeaders).
func (rws *responseWriterState) writeResHeaders(h writeResHeaders) error {
	if !rws.handlerDone {
		hp := new(writeResHeaders)
		*hp = h
		return rws.conn.writeHeaders(rws.stream, hp)
	}
	if h.endStream {
		rws.doneSent = true
		return rws.conn.writeFrameFromHandler(FrameWriteRequest{
			write: &handlerFinal{headers: h, hasHeaders: true, noData: true, done: true}, stream: rws.stream,
		})
	}
	rws.final = &handlerFinal{headers: h, hasHeaders: true}
	return nil
}

// writeFinalData sends the held headers and p, the last DATA of a finished handler,
// without waiting, and reports whether it did. It does not when p is larger than
// handlerChunkWriteSize or does not end the stream (trailers follow): then the held
// headers go at once, and p goes as upstream does.
func (rws *responseWriterState) writeFinalData(p []byte, endStream bool) bool {
	f := rws.final
	rws.final = nil
	if rws.handlerDone && endStream && len(p) <= handlerChunkWriteSize {
		if f == nil {
			f = &handlerFinal{}
		}
		buf := finalBufs.Get().(*finalBuf)
		f.data = writeData{rws.stream.id, append(buf[:0], p...), true, buf}
		f.done = true
		rws.doneSent = true
		rws.conn.writeFrameFromHandler(FrameWriteRequest{write: f, stream: rws.stream})
		return true
	}
	if f != nil {
		f.noData = true
		rws.conn.writeFrameFromHandler(FrameWriteRequest{write: f, stream: rws.stream})
	}
	return false
}

// writeHandlerFinal queues f's frames for st, on the serve goroutine, then schedules
// their write: the frames of one response are written (and flushed) together.
func (sc *serverConn) writeHandlerFinal(st *stream, f *handlerFinal) {
	if f.hasHeaders {
		sc.queueFrame(FrameWriteRequest{write: &f.headers, stream: st})
	}
	if !f.noData {
		sc.queueFrame(FrameWriteRequest{write: &f.data, stream: st})
	}
	sc.scheduleFrameWrite()
	if f.done {
		sc.handlerDone()
	}
}

// finalBuf holds the copy of a final chunk (writeFinalData), at most handlerChunkWriteSize
// bytes.
type finalBuf [handlerChunkWriteSize]byte

// finalBufs pools the finalBufs: one goes back once its DATA frame has been written whole
// (putFinalBuf, from wroteFrame). A frame split by flow control (the pieces are new
// writeData values, without the buffer) or dropped with its stream leaves its buffer to
// the garbage collector.
var finalBufs = sync.Pool{New: func() any { return new(finalBuf) }}

// putFinalBuf puts back the pooled copy of the DATA frame w, just written, if it has one.
// wroteFrame calls it before it tells a waiting handler that w is written: such a handler
// may reuse w at once (writeDataFromHandler's pool).
func putFinalBuf(w writeFramer) {
	if wd, ok := w.(*writeData); ok && wd.buf != nil {
		buf := wd.buf
		wd.buf, wd.p = nil, nil
		finalBufs.Put(buf)
	}
}
