package edge

import (
	"crypto/tls"
)

// getConfigForClient is the listener's GetConfigForClient: it reads the current snapshot
// once and hands out that snapshot's prebuilt configuration, or refuseConfig (no
// certificate sent, unrecognized_name alert) when no site answers the ServerName and no
// site is the default. A connection for a passthrough site is handed off to it instead
// (handOff), before anything is written.
func (s *Server) getConfigForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if c := s.tlsALPN01Config(hello); c != nil { // an ACME CA validating: not a client
		if hc, ok := hello.Conn.(*helloConn); ok {
			hc.stopRecording()
		}
		return c, nil
	}
	st, e := s.lookupHello(hello)
	if e != nil && e.site.pool != nil {
		return nil, s.handOff(hello, e.site)
	}
	if hc, ok := hello.Conn.(*helloConn); ok {
		hc.stopRecording()
	}
	if e == nil {
		s.countRefusal(hello)
		return refuseConfig, nil
	}
	return st.configFor(e, false), nil
}

// getConfigForClientH3 is getConfigForClient for the QUIC listener: the same choice, the
// h3 variants of the configurations. Passthrough is TCP only: a passthrough site's names
// are refused here like unknown ones.
func (s *Server) getConfigForClientH3(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	st, e := s.lookupHello(hello)
	if e == nil || e.site.pool != nil {
		s.countRefusal(hello)
		return refuseConfigH3, nil
	}
	return st.configFor(e, true), nil
}

// lookupHello returns the current state and the entry of the site that answers hello's
// ServerName (the default site for an unknown or absent one), or a nil entry.
func (s *Server) lookupHello(hello *tls.ClientHelloInfo) (*served, *hostEntry) {
	st := s.state.Load()
	if st == nil {
		return nil, nil
	}
	return st, st.snap.sniEntry(hello.ServerName)
}

// countRefusal counts a handshake refused for want of a site.
func (s *Server) countRefusal(hello *tls.ClientHelloInfo) {
	reason := "unknown_sni"
	if hello.ServerName == "" {
		reason = "no_sni"
	}
	s.metrics.handshakeErrors.WithLabelValues(reason).Inc()
}

// handshakeDone is the VerifyConnection of the served configurations: crypto/tls calls
// it once per handshake that got that far, resumptions included.
func (s *Server) handshakeDone(tls.ConnectionState) error {
	s.metrics.handshakes.Inc()
	return nil
}
