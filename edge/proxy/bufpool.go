package proxy

import "sync"

// copyBufferSize is the size of the buffers ReverseProxy copies bodies with.
const copyBufferSize = 32 << 10

// bufPool lends ReverseProxy its 32 KiB copy buffers instead of allocating one per request.
// The pool holds pointers to arrays, so putting a buffer back allocates nothing.
type bufPool struct{ p sync.Pool }

var copyBuffers = &bufPool{p: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}

func (bp *bufPool) Get() []byte { return bp.p.Get().(*[copyBufferSize]byte)[:] }

func (bp *bufPool) Put(b []byte) {
	if cap(b) != copyBufferSize {
		return
	}
	bp.p.Put((*[copyBufferSize]byte)(b[:copyBufferSize]))
}
