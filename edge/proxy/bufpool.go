package proxy

import "sync"

// bufPool lends ReverseProxy its 32 KiB copy buffers instead of allocating one per request.
type bufPool struct{ p sync.Pool }

var copyBuffers = &bufPool{p: sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}}

func (bp *bufPool) Get() []byte { return *(bp.p.Get().(*[]byte)) }

func (bp *bufPool) Put(b []byte) {
	if cap(b) != 32<<10 {
		return
	}
	b = b[:cap(b)]
	bp.p.Put(&b)
}
