package edge

import (
	"net"
)

// Routing a passthrough connection at accept time. Under load a connection's ClientHello
// has usually arrived by the time the listener accepts it. earlyListener.Accept then reads
// it at once, without waiting (readNow), and when it is whole and names a passthrough
// site (helloSNI, which agrees with crypto/tls or abstains), the connection goes to
// servePassthroughEarly from there: no http.Server connection, tls.Conn, handshake
// goroutine or ClientHello parsed by crypto/tls, and no goroutine hand-off at all when
// the upstream is opened without waiting (else one, to a worker). Every
// other connection (no data yet, a ClientHello in part or in several records, a
// terminated or unknown name, ALPN acme-tls/1, a server without passthrough sites, a
// PROXY protocol connection) is returned by Accept as before, what was read kept in its
// record for crypto/tls to read first: the slow path, unchanged, with its timeouts and
// limits.

// earlyListener makes every accepted connection a helloConn, and routes passthrough
// connections early.
type earlyListener struct {
	net.Listener
	s *Server
}

// Accept implements net.Listener: the next connection that is not routed early, as a
// helloConn.
func (l earlyListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var rec *[]byte
		if h, ok := c.(*handedConn); ok { // routed by an event loop (loopaccept_linux.go)
			c, rec = h.Conn, h.rec
		} else {
			rec = helloBufs.Get().(*[]byte)
			if e := l.s.routeEarly(c, rec); e != nil {
				l.s.servePassthroughEarly(c, rec, e)
				continue
			}
		}
		pc, err := plainConn(c) // accepted raw (rawListener): net's from here on
		if err != nil {
			putHello(rec)
			l.s.log.Warn("edge: accepted connection", "error", err)
			continue
		}
		hc := newHelloConn(pc, rec)
		hc.bytes.timeout = max(l.s.limits.WriteByteTimeout, 0)
		return hc, nil
	}
}

// routeEarly reads what has arrived of c into rec and returns the passthrough site its
// ClientHello names, or nil (the slow path decides).
func (s *Server) routeEarly(c net.Conn, rec *[]byte) *siteEntry {
	st := s.state.Load()
	if st == nil || !st.snap.passthrough {
		return nil
	}
	*rec = (*rec)[:readNow(c, (*rec)[:cap(*rec)])]
	name, acme, ok := helloSNI(*rec)
	if !ok || acme {
		return nil
	}
	if e := st.snap.sniEntry(string(name)); e != nil && e.site.pool != nil {
		return e.site
	}
	return nil
}

// acceptRaw reports whether the HTTPS listener accepts raw (rawListener): while the
// snapshot has passthrough sites.
func (s *Server) acceptRaw() bool {
	st := s.state.Load()
	return st != nil && st.snap.passthrough
}
