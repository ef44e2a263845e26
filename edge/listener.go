package edge

import (
	"net"
	"sync"

	"github.com/edgectl/edge/edge/internal/rawio"
	"github.com/prometheus/client_golang/prometheus"
)

// limitListener caps the connections open at once: Accept waits for a slot (new
// connections queue in the kernel's backlog meanwhile) and every connection frees its slot
// when closed. It keeps the open-connection gauge.
type limitListener struct {
	net.Listener
	sem   chan struct{} // nil: no cap
	gauge prometheus.Gauge
	done  chan struct{}
	once  sync.Once
}

// newLimitListener wraps l; max <= 0 means no cap.
func newLimitListener(l net.Listener, max int, gauge prometheus.Gauge) *limitListener {
	ll := &limitListener{Listener: l, gauge: gauge, done: make(chan struct{})}
	if max > 0 {
		ll.sem = make(chan struct{}, max)
	}
	return ll
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	if l.sem != nil {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		l.release()
		return nil, err
	}
	return l.wrap(c), nil
}

// tryAcquire takes a free slot without waiting; false when there is none.
func (l *limitListener) tryAcquire() bool {
	if l.sem == nil {
		return true
	}
	select {
	case l.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

// wrap makes c, accepted with a slot taken, a limitConn: its Close frees the slot.
func (l *limitListener) wrap(c net.Conn) *limitConn {
	l.gauge.Inc()
	return &limitConn{Conn: c, l: l, w: rawio.New(c), r: rawio.NewReader(c)}
}

// Close closes the listener and wakes an Accept waiting for a slot.
func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *limitListener) release() {
	if l.sem != nil {
		<-l.sem
	}
}

// limitConn frees its slot once, on the first Close.
type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
	w    *rawio.Writer // nil: Conn's own writes
	r    *rawio.Reader // nil: Conn's own reads
}

// Read reads with raw read system calls when it may (rawio).
func (c *limitConn) Read(p []byte) (int, error) {
	if c.r != nil {
		return c.r.Read(p)
	}
	return c.Conn.Read(p)
}

// PollFirst has the next raw read poll before it reads (rawio.Reader.PollFirst); with
// net.Conn's reads it does nothing.
func (c *limitConn) PollFirst() {
	if c.r != nil {
		c.r.PollFirst()
	}
}

// Write writes with raw write system calls when it may (rawio: the loopback writes of
// a proxy would otherwise have the scheduler hand Ps between threads on every request).
func (c *limitConn) Write(p []byte) (int, error) {
	if c.w != nil {
		return c.w.Write(p)
	}
	return c.Conn.Write(p)
}

// TryWrite writes what of p the socket takes without waiting (rawio.Writer.TryWrite);
// with net.Conn's writes it writes nothing.
func (c *limitConn) TryWrite(p []byte) (int, error) {
	if c.w != nil {
		return c.w.TryWrite(p)
	}
	return 0, nil
}

// Close closes the connection and frees its slot.
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.gauge.Dec()
		c.l.release()
	})
	return err
}

// NetConn returns the connection without its slot keeping (for splice(2)).
func (c *limitConn) NetConn() net.Conn { return c.Conn }
