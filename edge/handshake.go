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
	if st == nil || st.snap.sniEntry(hello.ServerName) == nil {
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
