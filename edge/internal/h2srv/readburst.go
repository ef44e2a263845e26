package h2srv

// edge: frames already read from the connection are handled in bursts (README.md,
// "Changes").
//
// Upstream, the read goroutine reads one frame, hands it to the serve goroutine and waits
// until the serve goroutine is done with it (the frame's payload is the Framer's read
// buffer, reused by the next read): two goroutine wake-ups per frame, even when a client
// sent ten requests in one TLS record. Here the Framer reads through a bufio.Reader
// (readBurstBufSize), and once the serve goroutine has handled the frame the read
// goroutine handed over, it reads and handles the next frames itself, while the read
// goroutine still waits, as long as a whole frame is already in that buffer (so the
// serve goroutine never waits for the network), up to maxReadBurst frames per wake-up.
//
// After a terminal read error (ErrFrameTooLarge, an order or connection error from the
// Framer, the connection's error) nothing more is read, neither in the burst nor by the
// read goroutine (readStopped): the bytes after a frame header that was refused are that
// frame's payload, not a frame.

import "bufio"

const (
	// maxReadBurst is the most frames the serve goroutine handles per wake-up from the
	// read goroutine.
	maxReadBurst = 16
	// readBurstBufSize is the size of the connection's read buffer: enough for the
	// HEADERS of many requests sent together (a few KiB per connection, like the TLS
	// record buffers under it).
	readBurstBufSize = 4 << 10
)

// newFrameReader returns the buffered reader the Framer reads frames from.
func newFrameReader(sc *serverConn) *bufio.Reader {
	sc.br = bufio.NewReaderSize(sc.conn, readBurstBufSize)
	return sc.br
}

// processFramesFromReader handles res, the frame (or error) the read goroutine handed
// over, then the frames already buffered after it (at most maxReadBurst in all), and
// reports whether the connection is to stay open. The caller lets the read goroutine
// read again (res.readMore) after it; sc.readStopped then tells it to stop.
func (sc *serverConn) processFramesFromReader(res readFrameResult) bool {
	sc.serveG.check()
	sc.readStopped = terminalReadFrameError(res.err)
	if !sc.processFrameFromReader(res) {
		return false
	}
	for range maxReadBurst - 1 {
		if sc.readStopped || !sc.frameBuffered() {
			break
		}
		if sc.writingFrameAsync { // as the serve loop does before each frame read
			select {
			case wroteRes := <-sc.wroteFrameCh:
				sc.wroteFrame(wroteRes)
			default:
			}
		}
		f, err := sc.framer.ReadFrame()
		sc.readStopped = terminalReadFrameError(err)
		sc.burstFrames++
		if !sc.processFrameFromReader(readFrameResult{f: f, err: err}) {
			return false
		}
	}
	return true
}

// frameBuffered reports whether the Framer can read its next frame from the buffer,
// without waiting for the network: the whole frame is there, or its header alone when
// the Framer refuses it for its length (ErrFrameTooLarge, nothing more read). A HEADERS
// frame without END_HEADERS is never: the Framer reads its CONTINUATION frames with it.
func (sc *serverConn) frameBuffered() bool {
	n := sc.br.Buffered()
	if n < frameHeaderLen {
		return false
	}
	h, _ := sc.br.Peek(frameHeaderLen)
	length := uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2])
	if length > sc.framer.maxReadSize {
		return true
	}
	if FrameType(h[3]) == FrameHeaders && Flags(h[4])&FlagHeadersEndHeaders == 0 {
		return false
	}
	return n >= frameHeaderLen+int(length)
}
