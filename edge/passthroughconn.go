package edge

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/edgectl/edge/edge/passthrough"
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
// copies both ways until the connection ends. It closes client and gives hello back.
func (s *Server) servePassthrough(client net.Conn, rec *[]byte, st *siteEntry) {
	defer client.Close()
	hello := *rec
	defer func() {
		if rec != nil {
			putHello(rec)
		}
	}()
	ctx, done, ok := s.passthroughs.add(client)
	if !ok {
		s.metrics.pt.refused.WithLabelValues(ptRefusedDraining).Inc()
		return
	}
	defer done()
	name, m := st.site.Name, s.metrics.pt
	m.conns.WithLabelValues(name).Inc()
	open := m.open.WithLabelValues(name)
	open.Inc()
	defer open.Dec()
	client.SetDeadline(time.Time{}) // the handshake's deadline
	conf := st.pool.Config()
	first := hello
	if conf.ProxyProtocol {
		first = append(passthrough.AppendProxyV2(make([]byte, 0, 52+len(hello)), client.RemoteAddr(), client.LocalAddr()), hello...)
	}
	up, u, err := st.pool.Open(ctx, first, conf.IdleTimeout, func(addr string, err error) {
		m.dialErrors.WithLabelValues(name).Inc()
		s.log.LogAttrs(ctx, slog.LevelWarn, "passthrough: upstream dial failed", slog.String("site", name),
			slog.String("upstream", addr), slog.Any("error", err))
	})
	if err != nil {
		if errors.Is(err, passthrough.ErrNoUpstream) {
			m.refused.WithLabelValues(ptRefusedNoUpstream).Inc()
		}
		return
	}
	defer u.Done()
	defer up.Close()
	putHello(rec) // written: the record goes back before the connection's lifetime
	rec = nil
	toUp, toClient := m.bytes.WithLabelValues(name, "to_upstream"), m.bytes.WithLabelValues(name, "to_client")
	toUp.Add(float64(len(first)))
	err = passthrough.Pipe(rawConn(client), up, conf.IdleTimeout, func(toUpstream bool, n int64) {
		if toUpstream {
			toUp.Add(float64(n))
		} else {
			toClient.Add(float64(n))
		}
	})
	if err != nil && ctx.Err() == nil {
		s.log.LogAttrs(ctx, slog.LevelDebug, "passthrough: connection ended", slog.String("site", name),
			slog.String("upstream", u.Addr), slog.Any("error", err))
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
