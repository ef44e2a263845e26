package edge

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"time"
)

// ChallengeSource answers ACME challenges (RFC 8555 HTTP-01, RFC 8737 TLS-ALPN-01) for the
// names whose certificates the fleet is ordering, wherever the order was placed
// (reconcile/issue.Challenges reads the material from Vault). Both methods are called on
// the connection's goroutine and must be quick; ok false means "no challenge here".
type ChallengeSource interface {
	// HTTP01 returns the key authorization to answer
	// GET http://<host>/.well-known/acme-challenge/<token> with.
	HTTP01(ctx context.Context, host, token string) (keyAuth string, ok bool)
	// TLSALPN01 returns the acme-tls/1 challenge certificate for host.
	TLSALPN01(ctx context.Context, host string) (*tls.Certificate, bool)
}

// acmeTLSALPN is the ALPN protocol of TLS-ALPN-01 validation (RFC 8737).
const acmeTLSALPN = "acme-tls/1"

// acmeChallengePrefix is the path of HTTP-01 challenges (RFC 8555 §8.3).
const acmeChallengePrefix = "/.well-known/acme-challenge/"

// challengeTimeout bounds one challenge lookup (a Vault read at worst).
const challengeTimeout = 5 * time.Second

type challengeHolder struct{ src ChallengeSource }

// SetChallenges makes the server answer ACME challenges from src: HTTP-01 on the
// plain-HTTP listener (before any redirect, also for names no site serves yet) and
// TLS-ALPN-01 on the HTTPS listener (a ClientHello offering only acme-tls/1). Nil turns
// it off. Safe to call at any time.
func (s *Server) SetChallenges(src ChallengeSource) {
	if src == nil {
		s.challenges.Store(nil)
		return
	}
	s.challenges.Store(&challengeHolder{src})
}

// serveHTTP01 answers r if it is an HTTP-01 challenge request the source knows, and
// reports whether it did.
func (s *Server) serveHTTP01(w http.ResponseWriter, r *http.Request, host string) bool {
	h := s.challenges.Load()
	if h == nil || !strings.HasPrefix(r.URL.Path, acmeChallengePrefix) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), challengeTimeout)
	defer cancel()
	ka, ok := h.src.HTTP01(ctx, host, strings.TrimPrefix(r.URL.Path, acmeChallengePrefix))
	if !ok {
		return false
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(ka))
	return true
}

// tlsALPN01Config returns the configuration answering a TLS-ALPN-01 validation hello (one
// that offers acme-tls/1 and nothing else), or nil.
func (s *Server) tlsALPN01Config(hello *tls.ClientHelloInfo) *tls.Config {
	h := s.challenges.Load()
	if h == nil || len(hello.SupportedProtos) != 1 || hello.SupportedProtos[0] != acmeTLSALPN || hello.ServerName == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(hello.Context(), challengeTimeout)
	defer cancel()
	cert, ok := h.src.TLSALPN01(ctx, strings.ToLower(hello.ServerName))
	if !ok {
		return nil
	}
	return &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{acmeTLSALPN}, MinVersion: tls.VersionTLS12}
}
