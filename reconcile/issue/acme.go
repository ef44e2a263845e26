package issue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
)

// DNS01Solver presents and cleans up dns-01 challenges (the pki lane's RFC 2136 solver).
type DNS01Solver = acmez.Solver

// ACMEOptions are what an ACME issuer needs besides its declaration.
type ACMEOptions struct {
	// Store keeps the account key (shared by the fleet) and the challenge material.
	Store *Store
	// Challenges answers HTTP-01 and TLS-ALPN-01 for the whole fleet.
	Challenges *Challenges
	// Roots, when set, are the CAs trusted for the directory's TLS (tests: Pebble's);
	// nil: the system roots.
	Roots *x509.CertPool
	// EABKey returns the EAB HMAC key (base64url) from Vault; needed when Config.EAB is set.
	EABKey func(ctx context.Context, ref SecretRef) (string, error)
	// DNS01 returns the dns-01 solver (the pki lane's RFC 2136 solver); nil: dns-01 is
	// refused.
	DNS01 func(cfg DNS01Config) (DNS01Solver, error)
	// Logger; nil: slog.Default().
	Logger *slog.Logger
}

// ACME is an Issuer ordering certificates from an ACME CA with github.com/mholt/acmez/v3.
// The account key is kept in Vault so the whole fleet orders as one account.
type ACME struct {
	name string
	cfg  ACMEConfig
	opts ACMEOptions
	cl   *acmez.Client

	mu   sync.Mutex
	acct *acme.Account
}

// NewACME returns the ACME issuer name declared as cfg.
func NewACME(name string, cfg ACMEConfig, opts ACMEOptions) (*ACME, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if opts.Roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: opts.Roots}
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: retryAfterTransport{tr}}
	solvers := map[string]acmez.Solver{}
	chs := cfg.Challenges
	if len(chs) == 0 {
		chs = []string{HTTP01, TLSALPN01}
	}
	for _, ch := range chs {
		switch ch {
		case HTTP01:
			solvers[acme.ChallengeTypeHTTP01] = solver{opts.Challenges, HTTP01}
		case TLSALPN01:
			solvers[acme.ChallengeTypeTLSALPN01] = solver{opts.Challenges, TLSALPN01}
		case DNS01:
			if opts.DNS01 == nil || cfg.DNS01 == nil {
				return nil, fmt.Errorf("issuer %s: dns-01 is not available in this build", name)
			}
			s, err := opts.DNS01(*cfg.DNS01)
			if err != nil {
				return nil, fmt.Errorf("issuer %s: dns-01: %w", name, err)
			}
			solvers[acme.ChallengeTypeDNS01] = s
		default:
			return nil, fmt.Errorf("issuer %s: unknown challenge type %q", name, ch)
		}
	}
	cl := &acmez.Client{
		Client:           &acme.Client{Directory: cfg.Directory, HTTPClient: hc, Logger: discardLogger, PollTimeout: 2 * time.Minute},
		ChallengeSolvers: solvers,
	}
	return &ACME{name: name, cfg: cfg, opts: opts, cl: cl}, nil
}

var discardLogger = slog.New(slog.DiscardHandler)

// Name is the issuer's declared name.
func (a *ACME) Name() string { return a.name }

// Issue orders a certificate for req.Names from the CA.
func (a *ACME) Issue(ctx context.Context, req Request) (*Issued, error) {
	ctx, note := withRetryNote(ctx)
	acct, err := a.account(ctx)
	if err != nil {
		return nil, retryAfter(err, note)
	}
	csr, err := acmez.NewCSR(req.Key, req.Names)
	if err != nil {
		return nil, fmt.Errorf("make CSR: %w", err)
	}
	params, err := acmez.OrderParametersFromCSR(*acct, csr)
	if err != nil {
		return nil, fmt.Errorf("order parameters: %w", err)
	}
	params.Replaces = req.Replaces
	certs, err := a.cl.ObtainCertificate(ctx, params)
	if err != nil && params.Replaces != nil && replacesRefused(err) {
		// The CA does not know the certificate renewed (e.g. it was issued to another
		// account, or by the CA before a reset): order as a new certificate.
		a.opts.Logger.Info("acme: the CA refused the order's replaces; ordering without it", "issuer", a.name, "names", req.Names, "err", err)
		params.Replaces = nil
		certs, err = a.cl.ObtainCertificate(ctx, params)
	}
	if err != nil {
		a.forgetAccount() // register again next time: the CA may have forgotten it
		return nil, retryAfter(err, note)
	}
	chain := a.pick(certs)
	leaf, err := leafOf(chain.ChainPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate from %s: %w", a.cfg.Directory, err)
	}
	out := &Issued{ChainPEM: chain.ChainPEM, NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter}
	out.RenewAfter = a.renewalInfo(ctx, leaf)
	return out, nil
}

// replacesRefused reports whether err is the CA refusing a new order for what its
// "replaces" names (acmez itself retries without it on alreadyReplaced): a problem at
// new-order other than a rate limit or a refused identifier, which would refuse the order
// without it too.
func replacesRefused(err error) bool {
	var p acme.Problem
	if !errors.As(err, &p) || !strings.HasPrefix(err.Error(), "creating new order:") {
		return false
	}
	switch p.Type {
	case acme.ProblemTypeMalformed, acme.ProblemTypeServerInternal, acme.ProblemTypeUnauthorized:
		return true
	}
	return false
}

// renewalInfo asks the CA's ARI (RFC 9773) when to renew leaf: a random time in its
// suggested window; zero when the CA offers none.
func (a *ACME) renewalInfo(ctx context.Context, leaf *x509.Certificate) time.Time {
	ri, err := a.cl.GetRenewalInfo(ctx, leaf)
	if err != nil || ri.SuggestedWindow.Start.IsZero() {
		return time.Time{}
	}
	return ri.SelectedTime
}

// pick returns the chain whose root or intermediate matches PreferredChain, else the first.
func (a *ACME) pick(certs []acme.Certificate) acme.Certificate {
	if a.cfg.PreferredChain != "" {
		for _, c := range certs {
			if chainHasIssuer(c.ChainPEM, a.cfg.PreferredChain) {
				return c
			}
		}
	}
	return certs[0]
}

func chainHasIssuer(chainPEM []byte, cn string) bool {
	for rest := chainPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return false
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil && (c.Issuer.CommonName == cn || c.Subject.CommonName == cn) {
			return true
		}
	}
}

func leafOf(chainPEM []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(chainPEM)
	if b == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}
