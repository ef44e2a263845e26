package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/edgectl/edge/edge/passthrough"
	"github.com/edgectl/edge/edge/site"
)

// errPassedThrough aborts the TLS handshake of a connection handed to a passthrough site;
// net/http logs it as a handshake error, which errorLogWriter drops.
var errPassedThrough = errors.New("edge: connection passed through")

// handOff takes the connection of hello away from crypto/tls for the passthrough site st
// and serves it in a goroutine. It returns the error that ends the aborted handshake.
func (s *Server) handOff(hello *tls.ClientHelloInfo, st *siteEntry) error {
	hc, ok := hello.Conn.(*helloConn)
	if !ok {
		return errPassedThrough // not from the TLS listener: nothing to hand over
	}
	raw, rec, ok := hc.detach()
	if !ok {
		s.metrics.pt.refused.WithLabelValues(ptRefusedTooLarge).Inc()
		raw.Close()
		return errPassedThrough
	}
	passthrough.Go(func() { s.servePassthrough(raw, rec, st) })
	return errPassedThrough
}

// servePassthrough connects client, whose ClientHello (and whatever else was read) is
// hello, to an upstream of the site st, writes the PROXY v2 header if asked and hello, then
// copies both ways until the connection ends: in an event loop where there is one
// (passthrough.Start), else in this goroutine (passthrough.Pipe). The connection's end
// (ptConn.finish) closes client and the upstream connection; hello is given back once
// written.
func (s *Server) servePassthrough(client net.Conn, rec *[]byte, st *siteEntry) {
	p := s.beginPassthrough(client, rec, st)
	if p != nil && p.openUpstream(st.pool.Open(p.ctx, p.first, p.conf.IdleTimeout, p.dialFailed)) {
		p.run(false)
	}
}

// servePassthroughEarly is servePassthrough for the accept goroutine, which it must not
// hold up: only a first attempt that does not wait is made there (Pool.TryOpen: the
// balance's choice, a literal address connected to and hello written at once, as on
// loopback), and the connection then goes to an event loop from there. Whatever would
// wait (a connect in progress, a full socket, a host name, a failure and the failover,
// no event loop: Pipe) is handed, as it stands, to a worker goroutine.
func (s *Server) servePassthroughEarly(client net.Conn, rec *[]byte, st *siteEntry) {
	p := s.beginPassthrough(client, rec, st)
	if p == nil {
		return
	}
	up, u, pd := st.pool.TryOpen(p.first)
	if pd != nil {
		s.ptEarly.handed.Add(1)
		passthrough.Go(func() {
			if p.openUpstream(pd.Open(p.ctx, p.first, p.conf.IdleTimeout, p.dialFailed)) {
				p.run(false)
			}
		})
		return
	}
	s.ptEarly.inline.Add(1)
	p.openUpstream(up, u, nil)
	p.run(true)
}

// run copies both ways until the connection ends: in an event loop, else with Pipe, in
// this goroutine, or in a worker's when inline (the accept goroutine's).
func (p *ptConn) run(inline bool) {
	if err := p.ctx.Err(); err != nil {
		p.finish(err) // closed by the drain while dialing: no loop, no pipes
		return
	}
	started := p.s.passthroughs.start(p.client, func() (func(), bool) {
		h, ok := passthrough.Start(rawConn(p.client), p.up, p.conf.IdleTimeout, p.count, p.finish)
		return h.Kill, ok
	})
	if started {
		return
	}
	if err := p.ctx.Err(); err != nil {
		p.finish(err) // closed by the drain while starting
		return
	}
	if inline {
		passthrough.Go(func() { p.finish(passthrough.Pipe(rawConn(p.client), p.up, p.conf.IdleTimeout, p.count)) })
		return
	}
	p.finish(passthrough.Pipe(rawConn(p.client), p.up, p.conf.IdleTimeout, p.count))
}

// beginPassthrough registers client for the drain, counts it and makes the first bytes
// for its upstream (the PROXY v2 header if asked, and hello); nil when the drain has
// begun, client closed and hello given back.
func (s *Server) beginPassthrough(client net.Conn, rec *[]byte, st *siteEntry) *ptConn {
	ctx, done, ok := s.passthroughs.add(client)
	if !ok {
		s.metrics.pt.refused.WithLabelValues(ptRefusedDraining).Inc()
		client.Close()
		putHello(rec)
		return nil
	}
	ser := s.metrics.pt.siteSeries(st)
	p := &ptConn{s: s, client: client, ctx: ctx, done: done, name: st.site.Name, ser: ser, rec: rec}
	ser.conns.Inc()
	ser.open.Inc()
	client.SetDeadline(time.Time{}) // the handshake's deadline
	p.conf = st.pool.Config()
	p.first = *rec
	if p.conf.ProxyProtocol {
		p.first = append(passthrough.AppendProxyV2(make([]byte, 0, 52+len(p.first)), client.RemoteAddr(), client.LocalAddr()), p.first...)
	}
	return p
}

// openUpstream takes the outcome of opening the upstream (Pool.Open's): it gives hello
// back and reports whether the connection goes on; on failure it is counted and ended.
func (p *ptConn) openUpstream(up net.Conn, u *passthrough.Upstream, err error) bool {
	putHello(p.rec)
	n := len(p.first)
	p.rec, p.first = nil, nil
	if err != nil {
		if errors.Is(err, passthrough.ErrNoUpstream) {
			p.s.metrics.pt.refused.WithLabelValues(ptRefusedNoUpstream).Inc()
		}
		p.finish(nil)
		return false
	}
	p.up, p.u = up, u
	p.ser.toUp.Add(float64(n))
	return true
}

// dialFailed counts and logs a failed attempt on the upstream addr.
func (p *ptConn) dialFailed(addr string, err error) {
	p.ser.dialErrors.Inc()
	p.s.log.LogAttrs(p.ctx, slog.LevelWarn, "passthrough: upstream dial failed", slog.String("site", p.name),
		slog.String("upstream", addr), slog.Any("error", err))
}

// ptConn is an open passthrough connection.
type ptConn struct {
	s          *Server
	client, up net.Conn
	u          *passthrough.Upstream // nil until connected
	conf       site.Passthrough
	ctx        context.Context
	done       func()
	name       string
	ser        *ptSeries // the site's metric series
	rec        *[]byte   // hello, until the upstream is opened
	first      []byte    // the upstream's first bytes, until it is opened
}

// count adds n bytes moved to the connection's byte counters.
func (p *ptConn) count(toUpstream bool, n int64) {
	if toUpstream {
		p.ser.toUp.Add(float64(n))
	} else {
		p.ser.toClient.Add(float64(n))
	}
}

// finish ends the connection: both sides closed, the upstream released, the gauge and
// the drain told, err (the copy's) logged unless the drain caused it.
func (p *ptConn) finish(err error) {
	if p.up != nil {
		p.up.Close()
		p.u.Done()
	}
	p.ser.open.Dec()
	p.done()
	p.client.Close()
	// Enabled first: on an event loop's goroutine, the attributes would cost allocations
	// for every connection even with debug logging off.
	if err != nil && p.ctx.Err() == nil && p.s.log.Enabled(p.ctx, slog.LevelDebug) {
		p.s.log.LogAttrs(p.ctx, slog.LevelDebug, "passthrough: connection ended", slog.String("site", p.name),
			slog.String("upstream", p.u.Addr), slog.Any("error", err))
	}
}

// rawConn returns the *net.TCPConn under c when there is one, for splice(2).
func rawConn(c net.Conn) net.Conn {
	for {
		nc, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return c
		}
		c = nc.NetConn()
	}
}
