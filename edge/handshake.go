package edge

import (
	"crypto/tls"
)

// getConfigForClient is the listener's GetConfigForClient: it reads the current snapshot
// once and hands out that snapshot's prebuilt configuration, or refuseConfig (no
// certificate sent, unrecognized_name alert) when no site answers the ServerName and no
// site is the default.
func (s *Server) getConfigForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	st := s.state.Load()
	var e *hostEntry
	if st != nil {
		e = st.snap.sniEntry(hello.ServerName)
	}
	if e != nil && e.site.pool != nil {
		return nil, s.handOff(hello, e.site)
	}
	if hc, ok := hello.Conn.(*helloConn); ok {
		hc.stopRecording()
	}
	if e == nil {
		reason := "unknown_sni"
		if hello.ServerName == "" {
			reason = "no_sni"
		}
		s.metrics.handshakeErrors.WithLabelValues(reason).Inc()
		return refuseConfig, nil
	}
	return st.tls, nil
}

// handshakeDone is the VerifyConnection of the served configurations: crypto/tls calls
// it once per handshake that got that far, resumptions included.
func (s *Server) handshakeDone(tls.ConnectionState) error {
	s.metrics.handshakes.Inc()
	return nil
}
