package passthrough

import (
	"context"
	"net"
	"time"
)

// Pending is a Pool.TryOpen that could not finish without waiting; Open finishes it.
type Pending struct {
	p       *Pool
	a       attempts
	up      *Upstream // the upstream tried, taken; nil when none was
	c       net.Conn  // up's connection still being established; nil when none
	written int       // bytes of first written to c
	err     error     // up's failure, when c is nil
}

// TryOpen is the first step of Open that never waits: the balance's first choice, when
// openFast can open it (Linux, a literal address), is connected to and first written to
// it without waiting. When both completed at once (usual on loopback and fast networks)
// it returns the connection and its upstream, as Open would. Otherwise it returns a
// Pending, which holds the connection still being established and how much of first
// went out, or the attempt's failure, or nothing tried: Pending.Open goes on from there
// as Open does. The order, the open counts (least_conn) and the ejections are Open's.
func (p *Pool) TryOpen(first []byte) (net.Conn, *Upstream, *Pending) {
	a := attempts{order: p.order(time.Now())}
	if tryFast == nil || !a.order[0].fast() {
		return nil, nil, &Pending{p: p, a: a}
	}
	up := a.take()
	c, written, err := tryFast(up.ap, first)
	if err == nil && written == len(first) {
		a.settle(up, c, nil, nil)
		return c, up, nil
	}
	return nil, nil, &Pending{p: p, a: a, up: up, c: c, written: written, err: firstWriteErr(err, written)}
}

// Open finishes the TryOpen of first: it waits for the pending connection (up to the
// connect timeout, or until ctx is done) or takes the failure, then tries the other
// upstreams as Open does, with the same results and reports to failed.
func (pd *Pending) Open(ctx context.Context, first []byte, writeTimeout time.Duration, failed func(addr string, err error)) (net.Conn, *Upstream, error) {
	if up := pd.up; up != nil {
		c, err := pd.c, pd.err
		if c != nil {
			var written int
			c, written, err = finishFast(ctx, c, pd.p.conf.ConnectTimeout, first, pd.written)
			err = firstWriteErr(err, written)
		}
		if c, err := pd.a.settle(up, c, err, failed); err != nil {
			return nil, nil, err
		} else if c != nil {
			return c, up, nil
		}
	}
	return pd.a.run(ctx, failed, pd.p.opener(ctx, first, writeTimeout))
}
