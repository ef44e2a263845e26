package passthrough

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// Passive ejection: an upstream that refused a connection is skipped for EjectBackoff,
// doubled per consecutive failure up to MaxEjectBackoff (the HTTP proxy's defaults).
const (
	EjectBackoff    = time.Second
	MaxEjectBackoff = 30 * time.Second
)

// ErrNoUpstream is returned by Pool.Dial when no upstream accepted the connection.
var ErrNoUpstream = errors.New("passthrough: no upstream accepted the connection")

// Pool is the upstreams of one passthrough site: it picks one by the site's balance among
// those not ejected or down, and dials it, trying the others in turn when a dial fails.
// Start runs the active health checks, Close stops them; a closed pool still dials, so
// connections accepted just before a swap are served. Safe for concurrent use.
type Pool struct {
	site  string
	conf  site.Passthrough // defaults applied
	ups   []*Upstream
	next  atomic.Uint32 // round robin
	log   *slog.Logger
	start sync.Once
	stop  context.CancelFunc
	wg    sync.WaitGroup
	mu    sync.Mutex // guards stop and closed
	done  bool
}

// Upstream is one upstream address of a pool and its state.
type Upstream struct {
	Addr         string
	ap           netip.AddrPort // Addr parsed, when it is a literal IP address (Open's fast path)
	open         atomic.Int64   // connections open through it (least_conn)
	fails        atomic.Int32   // consecutive dial failures
	ejectedUntil atomic.Int64   // Unix ns; 0: not ejected
	down         atomic.Bool    // set by failing active health checks
}

// NewPool returns the pool of the site named name. It checks the declaration; it starts
// nothing (see Start).
func NewPool(name string, p site.Passthrough, log *slog.Logger) (*Pool, error) {
	p = p.WithDefaults()
	if len(p.Upstreams) == 0 {
		return nil, fmt.Errorf("no upstreams")
	}
	if !p.Balance.Valid() {
		return nil, fmt.Errorf("balance %q; want round_robin or least_conn", p.Balance)
	}
	if p.ConnectTimeout < 0 || p.IdleTimeout < 0 || (p.HealthCheck != nil && (p.HealthCheck.Interval < 0 || p.HealthCheck.Timeout < 0)) {
		return nil, fmt.Errorf("negative timeout")
	}
	if log == nil {
		log = slog.Default()
	}
	pool := &Pool{site: name, conf: p, log: log}
	for i, a := range p.Upstreams {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("upstream %d %q: want host:port", i, a)
		}
		ap, _ := netip.ParseAddrPort(a) // invalid for a host name
		pool.ups = append(pool.ups, &Upstream{Addr: a, ap: ap})
	}
	return pool, nil
}

// Config returns the site's declaration with its defaults applied.
func (p *Pool) Config() site.Passthrough { return p.conf }

// Dial connects to an upstream: the balance's choice among the available ones, then the
// other available ones in turn if it fails, or, when none is available, every upstream
// in turn (the ejections may be stale). Each attempt is bounded by the connect timeout.
// A failed dial ejects its upstream and is reported to failed; a success ends its
// ejection. The caller must call Upstream.Done when the connection closes.
func (p *Pool) Dial(ctx context.Context, failed func(addr string, err error)) (net.Conn, *Upstream, error) {
	return p.connect(ctx, failed, func(up *Upstream) (net.Conn, error) {
		return p.dialer().DialContext(ctx, "tcp", up.Addr)
	})
}

// dialer is the net.Dialer of Dial: no keep-alive probes (IdleTimeout governs), which
// saves system calls per connection.
func (p *Pool) dialer() *net.Dialer {
	return &net.Dialer{Timeout: p.conf.ConnectTimeout, KeepAlive: -1}
}

// connect tries the upstreams in Dial's order with try until one succeeds.
func (p *Pool) connect(ctx context.Context, failed func(addr string, err error), try func(*Upstream) (net.Conn, error)) (net.Conn, *Upstream, error) {
	a := attempts{order: p.order(time.Now())}
	return a.run(ctx, failed, try)
}

// attempts is the state of connect: the upstreams in the order to try, how many were
// tried, and their errors.
type attempts struct {
	order []*Upstream
	next  int // order[:next] were tried
	errs  []error
}

// run tries the upstreams from a.next on with try until one succeeds.
func (a *attempts) run(ctx context.Context, failed func(addr string, err error), try func(*Upstream) (net.Conn, error)) (net.Conn, *Upstream, error) {
	for a.next < len(a.order) {
		if ctx.Err() != nil {
			break
		}
		up := a.take()
		c, err := try(up)
		if c, err := a.settle(up, c, err, failed); err != nil {
			return nil, nil, err
		} else if c != nil {
			return c, up, nil
		}
	}
	if err := ctx.Err(); err != nil {
		a.errs = append(a.errs, err)
	}
	return nil, nil, fmt.Errorf("%w: %w", ErrNoUpstream, errors.Join(a.errs...))
}

// take returns the next upstream to try, counted open.
func (a *attempts) take() *Upstream {
	up := a.order[a.next]
	a.next++
	up.open.Add(1)
	return up
}

// settle takes the outcome of an attempt on up (taken): c on success, which ends the
// upstream's ejection; ErrFirstWrite, which ends the attempts (connected: not the
// upstream's failure to accept); another error, which ejects up, is reported to failed
// and kept, and lets the next upstream be tried (both results nil).
func (a *attempts) settle(up *Upstream, c net.Conn, err error, failed func(addr string, err error)) (net.Conn, error) {
	if err == nil {
		up.fails.Store(0)
		up.ejectedUntil.Store(0)
		return c, nil
	}
	up.open.Add(-1)
	if errors.Is(err, ErrFirstWrite) {
		return nil, err
	}
	up.eject()
	if failed != nil {
		failed(up.Addr, err)
	}
	a.errs = append(a.errs, err)
	return nil, nil
}

// Done releases a connection of up returned by Dial.
func (up *Upstream) Done() { up.open.Add(-1) }

// eject marks one more consecutive failure and skips up for the backoff.
func (up *Upstream) eject() {
	n := up.fails.Add(1)
	d := EjectBackoff << min(n-1, 5)
	up.ejectedUntil.Store(time.Now().Add(min(d, MaxEjectBackoff)).UnixNano())
}

// available reports whether up may be chosen at now.
func (up *Upstream) available(now int64) bool {
	return !up.down.Load() && up.ejectedUntil.Load() <= now
}

// order returns the upstreams to try: the available ones, the balance's choice first;
// all of them, in round-robin order, when none is available.
func (p *Pool) order(now time.Time) []*Upstream {
	n := len(p.ups)
	start := int(p.next.Add(1)-1) % n
	out := make([]*Upstream, 0, n)
	for i := range n {
		if up := p.ups[(start+i)%n]; up.available(now.UnixNano()) {
			out = append(out, up)
		}
	}
	if len(out) == 0 {
		for i := range n {
			out = append(out, p.ups[(start+i)%n])
		}
		return out
	}
	if p.conf.Balance == site.LeastConn {
		best := 0
		for i, up := range out {
			if up.open.Load() < out[best].open.Load() {
				best = i
			}
		}
		out[0], out[best] = out[best], out[0]
	}
	return out
}
