// Package issue obtains and renews the certificates of sites that ask for an issued
// certificate instead of a committed one: from an ACME CA or from Vault's PKI secrets engine,
// once per fleet, stored in Vault for every agent to serve.
package issue

import (
	"context"
	"crypto"
	"crypto/x509"
	"time"
)

// Request asks an issuer for a certificate.
type Request struct {
	// Names are the DNS names (or "*.example.com" wildcards) the certificate must cover,
	// the first being the subject. At least one.
	Names []string
	// Key is the certificate's private key; the issuer certifies its public key and never
	// sees it otherwise (ACME: a CSR signed with it; Vault PKI: pki/sign).
	Key crypto.Signer
	// Replaces, when not nil, is the certificate this one renews (from the same issuer): an
	// ACME issuer names it in the order's "replaces" (RFC 9773 section 5), so the CA knows
	// the order is a renewal (and may exempt it from rate limits). Nil for a first order.
	Replaces *x509.Certificate
}

// Issued is a certificate an issuer returned.
type Issued struct {
	// ChainPEM is the certificate chain in PEM, leaf first.
	ChainPEM []byte
	// NotBefore and NotAfter are the leaf's validity.
	NotBefore, NotAfter time.Time
	// RenewAfter, when not zero, is when renewal should start (ACME Renewal Information,
	// RFC 9773, or two thirds of the lifetime); jitter is added by the caller.
	RenewAfter time.Time
}

// Issuer obtains certificates from one CA. Implementations are safe for concurrent use;
// the caller makes sure one name is asked for by one agent of the fleet at a time.
type Issuer interface {
	// Name identifies the issuer in status, metrics and logs (its declared name).
	Name() string
	// Issue obtains a certificate for req. Errors say what the CA answered and never
	// contain key material; an error that carries a time to wait (rate limit,
	// Retry-After) wraps a *RetryAfterError.
	Issue(ctx context.Context, req Request) (*Issued, error)
}

// RetryAfterError is an issuer's refusal that says when to try again.
type RetryAfterError struct {
	// After is the earliest time to try again.
	After time.Time
	// Err is the CA's answer.
	Err error
}

func (e *RetryAfterError) Error() string {
	return e.Err.Error() + " (retry after " + e.After.UTC().Format(time.RFC3339) + ")"
}

// Unwrap returns the CA's answer.
func (e *RetryAfterError) Unwrap() error { return e.Err }
