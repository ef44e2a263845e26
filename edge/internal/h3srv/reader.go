package h3srv

import (
	"errors"
	"io"
	"sync"

	"github.com/quic-go/quic-go/quicvarint"
)

// readBufSize is the size of a stream's read buffer: a request's HEADERS frame and a
// small body fit, larger bodies are read through it in pieces.
const readBufSize = 4 << 10

// readBufs recycles the read buffers of streams that have finished.
var readBufs = sync.Pool{New: func() any { return new([readBufSize]byte) }}

// errFrameTruncated is a stream that ended inside a frame.
var errFrameTruncated = errors.New("h3srv: stream ended inside a frame")

// frameReader reads HTTP/3 frames from a stream through a buffer.
type frameReader struct {
	r   io.Reader
	buf *[readBufSize]byte // nil once released
	pos int                // next unread byte in buf
	end int                // end of the bytes read into buf
	err error              // the error the stream returned (io.EOF: it ended); sticky, timeouts aside
}

// init starts reading r with a pooled buffer.
func (f *frameReader) init(r io.Reader) {
	f.r = r
	f.buf = readBufs.Get().(*[readBufSize]byte)
}

// release returns the buffer to the pool; later reads fail.
func (f *frameReader) release() {
	if f.buf != nil {
		readBufs.Put(f.buf)
		f.buf = nil
	}
	f.pos, f.end, f.err = 0, 0, errReleased
}

// errReleased is a read after the stream's handler returned.
var errReleased = errors.New("h3srv: request body read after its handler returned")

// ended reports whether the stream has ended and every byte of it was consumed.
func (f *frameReader) ended() bool { return f.pos == f.end && f.err == io.EOF }

// fill reads more of the stream into the buffer, moving what is unread to its front; it
// returns the stream's error when nothing more came.
func (f *frameReader) fill() error {
	if f.err != nil {
		return f.err
	}
	if f.pos > 0 {
		f.end = copy(f.buf[:], f.buf[f.pos:f.end])
		f.pos = 0
	}
	for {
		n, err := f.r.Read(f.buf[f.end:])
		f.end += n
		if err != nil && !isTimeout(err) { // a deadline's error is not the stream's end
			f.err = err
		}
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// varint reads a QUIC variable-length integer.
func (f *frameReader) varint() (uint64, error) {
	for {
		if f.pos < f.end {
			need := 1 << (f.buf[f.pos] >> 6)
			if f.end-f.pos >= need {
				v, n, err := quicvarint.Parse(f.buf[f.pos:f.end])
				if err != nil {
					return 0, err
				}
				f.pos += n
				return v, nil
			}
		}
		if err := f.fill(); err != nil {
			if err == io.EOF && f.pos < f.end {
				return 0, errFrameTruncated
			}
			return 0, err
		}
	}
}

// header reads a frame's type and length; io.EOF when the stream ended cleanly before it.
func (f *frameReader) header() (typ, length uint64, err error) {
	if typ, err = f.varint(); err != nil {
		return 0, 0, err
	}
	if length, err = f.varint(); err != nil {
		return 0, 0, truncated(err)
	}
	return typ, length, nil
}

// truncated turns io.EOF inside a frame into errFrameTruncated.
func truncated(err error) error {
	if err == io.EOF {
		return errFrameTruncated
	}
	return err
}

// block returns the next n bytes (a frame's payload): in the buffer when they fit, else
// in a new slice (n is bounded by the caller). The bytes are valid until the next read.
func (f *frameReader) block(n int) ([]byte, error) {
	if n > len(f.buf) {
		return f.bigBlock(n)
	}
	for f.end-f.pos < n {
		if err := f.fill(); err != nil {
			return nil, truncated(err)
		}
	}
	b := f.buf[f.pos : f.pos+n]
	f.pos += n
	return b, nil
}

// bigBlock reads a payload larger than the buffer into a slice grown as its bytes
// arrive: a client that declares a large HEADERS frame and sends little of it holds
// little memory.
func (f *frameReader) bigBlock(n int) ([]byte, error) {
	b := make([]byte, 0, 2*len(f.buf))
	for len(b) < n {
		if f.pos == f.end {
			if err := f.fill(); err != nil {
				return nil, truncated(err)
			}
		}
		k := min(n-len(b), f.end-f.pos)
		b = append(b, f.buf[f.pos:f.pos+k]...)
		f.pos += k
	}
	return b, nil
}

// Read reads stream bytes: buffered ones first, then directly from the stream.
func (f *frameReader) Read(p []byte) (int, error) {
	if f.pos == f.end {
		if f.err != nil {
			return 0, f.err
		}
		if len(p) >= len(f.buf) {
			n, err := f.r.Read(p)
			if err != nil && !isTimeout(err) {
				f.err = err
			}
			return n, err
		}
		if err := f.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, f.buf[f.pos:f.end])
	f.pos += n
	return n, nil
}

// readByte reads one byte.
func (f *frameReader) readByte() (byte, error) {
	if f.pos == f.end {
		if err := f.fill(); err != nil {
			return 0, err
		}
	}
	b := f.buf[f.pos]
	f.pos++
	return b, nil
}

// discard skips n bytes (an ignored frame's payload).
func (f *frameReader) discard(n uint64) error {
	for n > 0 {
		if f.pos == f.end {
			if err := f.fill(); err != nil {
				return truncated(err)
			}
		}
		k := uint64(f.end - f.pos)
		if k > n {
			k = n
		}
		f.pos += int(k)
		n -= k
	}
	return nil
}
