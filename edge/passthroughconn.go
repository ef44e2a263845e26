package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	p := s.openPassthrough(client, rec, st)
	if p == nil {
		return
	}
	if err := p.ctx.Err(); err != nil {
		p.finish(err) // closed by the drain while dialing: no loop, no pipes
		return
	}
	started := s.passthroughs.start(client, func() (func(), bool) {
		h, ok := passthrough.Start(rawConn(client), p.up, p.conf.IdleTimeout, p.count, p.finish)
		return h.Kill, ok
	})
	if !started {
		if err := p.ctx.Err(); err != nil {
			p.finish(err) // closed by the drain while starting
			return
		}
		p.finish(passthrough.Pipe(rawConn(client), p.up, p.conf.IdleTimeout, p.count))
	}
}

// openPassthrough registers client for the drain, counts it and connects it to an
// upstream (hello written); nil when it failed, client closed and hello given back.
func (s *Server) openPassthrough(client net.Conn, rec *[]byte, st *siteEntry) *ptConn {
	defer putHello(rec)
	ctx, done, ok := s.passthroughs.add(client)
	if !ok {
		s.metrics.pt.refused.WithLabelValues(ptRefusedDraining).Inc()
		client.Close()
		return nil
	}
	name, m := st.site.Name, s.metrics.pt
	ser := m.siteSeries(st)
	p := &ptConn{s: s, client: client, ctx: ctx, done: done, name: name, open: ser.open}
	ser.conns.Inc()
	p.open.Inc()
	client.SetDeadline(time.Time{}) // the handshake's deadline
	p.conf = st.pool.Config()
	hello := *rec
	first := hello
	if p.conf.ProxyProtocol {
		first = append(passthrough.AppendProxyV2(make([]byte, 0, 52+len(hello)), client.RemoteAddr(), client.LocalAddr()), hello...)
	}
	up, u, err := st.pool.Open(ctx, first, p.conf.IdleTimeout, func(addr string, err error) {
		ser.dialErrors.Inc()
		s.log.LogAttrs(ctx, slog.LevelWarn, "passthrough: upstream dial failed", slog.String("site", name),
			slog.String("upstream", addr), slog.Any("error", err))
	})
	if err != nil {
		if errors.Is(err, passthrough.ErrNoUpstream) {
			m.refused.WithLabelValues(ptRefusedNoUpstream).Inc()
		}
		p.finish(nil)
		return nil
	}
	p.up, p.u = up, u
	p.toUp, p.toClient = ser.toUp, ser.toClient
	p.toUp.Add(float64(len(first)))
	return p
}

// ptConn is an open passthrough connection.
type ptConn struct {
	s              *Server
	client, up     net.Conn
	u              *passthrough.Upstream // nil until connected
	conf           site.Passthrough
	ctx            context.Context
	done           func()
	name           string
	open           prometheus.Gauge
	toUp, toClient prometheus.Counter
}

// count adds n bytes moved to the connection's byte counters.
func (p *ptConn) count(toUpstream bool, n int64) {
	if toUpstream {
		p.toUp.Add(float64(n))
	} else {
		p.toClient.Add(float64(n))
	}
}

// finish ends the connection: both sides closed, the upstream released, the gauge and
// the drain told, err (the copy's) logged unless the drain caused it.
func (p *ptConn) finish(err error) {
	if p.up != nil {
		p.up.Close()
		p.u.Done()
	}
	p.open.Dec()
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
