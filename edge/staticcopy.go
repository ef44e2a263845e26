package edge

import (
	"io"
	"sync"
)

// staticCopyBuffer is the size of the reads (and response writes) of a file sent from its
// descriptor: larger than io.Copy's 32 KiB, so a large file costs fewer read system calls
// and fewer hand-offs to the HTTP/2 connection's writer, which takes each write in turn.
const staticCopyBuffer = 128 << 10

// copyBuffers pools the buffers of copyBody.
var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, staticCopyBuffer)
	return &b
}}

// copyBody writes the next n bytes of r to w through a pooled buffer and returns how many
// were written: fewer only with an error (io.ErrUnexpectedEOF when r ends early).
func copyBody(w io.Writer, r io.Reader, n int64) (int64, error) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	var written int64
	for written < n {
		k, rerr := r.Read(buf[:min(int64(len(buf)), n-written)])
		if k > 0 {
			m, werr := w.Write(buf[:k])
			written += int64(m)
			if werr != nil {
				return written, werr
			}
		}
		if rerr == io.EOF && written < n {
			return written, io.ErrUnexpectedEOF
		}
		if rerr != nil && rerr != io.EOF {
			return written, rerr
		}
	}
	return written, nil
}
