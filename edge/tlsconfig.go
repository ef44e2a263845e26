package edge

import (
	"crypto/tls"
	"errors"
)

// errUnknownServerName is returned by a snapshot's GetCertificate for a name it does not
// serve when it has no default site. The server never gets there: it refuses such
// handshakes earlier with refuseConfig.
var errUnknownServerName = errors.New("edge: unknown server name")

// cipherSuites are the TLS 1.2 suites offered: ECDHE with AEAD only. TLS 1.3 suites are
// not configurable in crypto/tls and are all AEAD.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// curvePreferences are the key exchanges offered: the post-quantum hybrid (TLS 1.3), then
// X25519 and P-256.
var curvePreferences = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}

// nextProtos is the ALPN list: HTTP/2 preferred.
var nextProtos = []string{"h2", "http/1.1"}

// newTLSConfig returns the server configuration of one snapshot. Session ticket keys are
// deliberately not set: crypto/tls then uses those of the listener's configuration (the
// one whose GetConfigForClient returned this one), which outlive snapshots.
func newTLSConfig(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS12,
		CipherSuites:     cipherSuites,
		CurvePreferences: curvePreferences,
		NextProtos:       nextProtos,
		GetCertificate:   getCert,
	}
}

// refuseConfig answers handshakes for names no site serves: it has no certificate, so
// crypto/tls aborts the handshake with an unrecognized_name alert before sending any.
var refuseConfig = newTLSConfig(nil)
