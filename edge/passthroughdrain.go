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
	conns  map[net.Conn]ptEntry
	closed bool
}

// ptEntry is an open connection's: cancel ends its dial, kill ends its copy when an event
// loop has it (nil: closing the client connection ends it). starting is set while the
// connection is being handed to a loop, closed when closeAll came meanwhile: start then
// ends it.
type ptEntry struct {
	cancel   context.CancelFunc
	kill     func()
	starting bool
	closed   bool
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
		p.conns = make(map[net.Conn]ptEntry)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.conns[c] = ptEntry{cancel: cancel}
	return ctx, func() {
		cancel()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}, true
}

// start runs start, which hands c to an event loop and returns the function ending it
// there, and records that function for the drain. start runs unlocked (other
// connections come and go meanwhile); a closeAll meanwhile leaves c to start, which then
// kills it through the loop, or closes it when no loop took it: the socket is never
// closed under a loop. It reports start's ok.
func (p *passthroughConns) start(c net.Conn, start func() (kill func(), ok bool)) bool {
	p.mu.Lock()
	e, found := p.conns[c]
	if found {
		e.starting = true
		p.conns[c] = e
	}
	p.mu.Unlock()
	kill, ok := start()
	p.mu.Lock()
	e, found = p.conns[c]
	closed := found && e.closed
	if found {
		e.starting = false
		if ok {
			e.kill = kill
		}
		p.conns[c] = e
	}
	p.mu.Unlock()
	if closed && ok {
		kill()
	} // else servePassthrough sees the cancelled context and closes c
	return ok
}

func (p *passthroughConns) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// drain lets the open connections run until they end or ctx is done, then closes those
// left and waits (briefly) for them to be gone. New connections are taken until none is
// open or ctx is done (a connection the listener accepted before it closed is served
// like the open ones), refused after.
func (p *passthroughConns) drain(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		p.mu.Lock()
		if len(p.conns) == 0 {
			p.closed = true
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return p.closeAll(ctx.Err())
		case <-t.C:
		}
	}
}

// closeAll closes every open connection and waits up to 2s for their goroutines.
func (p *passthroughConns) closeAll(cause error) error {
	p.mu.Lock()
	p.closed = true
	n := len(p.conns)
	for c, e := range p.conns {
		e.cancel()
		switch {
		case e.starting:
			e.closed = true // start ends it
			p.conns[c] = e
		case e.kill != nil:
			e.kill()
		default:
			c.Close()
		}
	}
	p.mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	for p.open() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("edge: %d passthrough connections still open: %w", n, cause)
}
