package edge

import (
	"crypto/tls"
)

// getConfigForClient is the listener's GetConfigForClient: it reads the current snapshot
// once and hands out that snapshot's prebuilt configuration, or refuseConfig (no
// certificate sent, unrecognized_name alert) when no site answers the ServerName and no
// site is the default.
func (s *Server) getConfigForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if st := s.servedFor(hello); st != nil {
		return st.tls, nil
	}
	return refuseConfig, nil
}

// getConfigForClientH3 is getConfigForClient for the QUIC listener: the same choice, the
// h3 variants of the configurations.
func (s *Server) getConfigForClientH3(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if st := s.servedFor(hello); st != nil {
		return st.tls3, nil
	}
	return refuseConfigH3, nil
}

// servedFor returns the current state if a site answers hello's ServerName (or a default
// site exists), else nil, counting the refusal.
func (s *Server) servedFor(hello *tls.ClientHelloInfo) *served {
	st := s.state.Load()
	if st == nil || st.snap.sniEntry(hello.ServerName) == nil {
		reason := "unknown_sni"
		if hello.ServerName == "" {
			reason = "no_sni"
		}
		s.metrics.handshakeErrors.WithLabelValues(reason).Inc()
		return nil
	}
	return st
}

// handshakeDone is the VerifyConnection of the served configurations: crypto/tls calls
// it once per handshake that got that far, resumptions included.
func (s *Server) handshakeDone(tls.ConnectionState) error {
	s.metrics.handshakes.Inc()
	return nil
}
