package edge

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"
)

// passthroughConns keeps the open passthrough connections, for Shutdown's drain. They are
// not http.Server's: it forgot them when their handshake was aborted.
type passthroughConns struct {
	mu     sync.Mutex
	conns  map[net.Conn]context.CancelFunc
	closed bool
}

// add registers the client connection c. It returns a context cancelled when c is closed
// by the drain (it bounds dialing the upstream) and the function to call when c is
// closed; ok is false once draining has begun, and c must be closed.
func (p *passthroughConns) add(c net.Conn) (ctx context.Context, done func(), ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, nil, false
	}
	if p.conns == nil {
		p.conns = make(map[net.Conn]context.CancelFunc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.conns[c] = cancel
	return ctx, func() {
		cancel()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}, true
}

func (p *passthroughConns) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// drain refuses new connections, lets the open ones run until they end or ctx is done,
// then closes those left and waits (briefly) for them to be gone.
func (p *passthroughConns) drain(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for p.open() > 0 {
		select {
		case <-ctx.Done():
			return p.closeAll(ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// closeAll closes every open connection and waits up to 2s for their goroutines.
func (p *passthroughConns) closeAll(cause error) error {
	p.mu.Lock()
	n := len(p.conns)
	for c, cancel := range p.conns {
		cancel()
		c.Close()
	}
	p.mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	for p.open() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("edge: %d passthrough connections still open: %w", n, cause)
}
