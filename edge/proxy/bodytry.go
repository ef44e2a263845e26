package proxy

import "io"

// tryBody reads into p the bytes of body that came already, without waiting for the
// upstream: 0 and nil when there are none (or body cannot tell: its Read will). It lets
// copyBody keep batching while the upstream's bytes keep coming, and flush only before
// a read that does wait.
func tryBody(body io.Reader, p []byte) (int, error) {
	switch b := body.(type) {
	case *upstreamBody:
		return tryBody(b.ReadCloser, p)
	case *h1Body:
		return b.tryRead(p)
	}
	return 0, nil
}

// tryRead is Read for the bytes of a body of known length that the connection holds now
// (its buffer empty): 0 and nil when there are none yet, or when the read would not give
// bytes (the connection's end, a cancelled request), which Read then meets; a socket
// error (a reset, which the kernel reports once) as Read would return it.
func (b *h1Body) tryRead(p []byte) (int, error) {
	pc := b.pc
	if b.done || b.rc != nil || b.remaining <= 0 || pc.rr == nil || pc.rerr != nil ||
		pc.limit != -1 || pc.br.Buffered() > 0 || b.ctx.Err() != nil {
		return 0, nil
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := pc.rr.TryRead(p)
	if err != nil { // a reset, reported once: as Read reports it
		b.finish(false)
		return 0, err
	}
	pc.nread += int64(n)
	b.remaining -= int64(n)
	if n > 0 && b.remaining == 0 {
		b.finish(true)
		return n, io.EOF
	}
	return n, nil
}
