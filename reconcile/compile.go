package reconcile

import (
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// CompileSite turns one validated site declaration and its private key into the value the
// data plane serves. The key must match the certificate. Errors name the site and its file
// and never contain key material.
func CompileSite(s *schema.Site, key keysource.Key, revision string) (*edge.Site, error) {
	cert, err := certificate(s.Cert, key.PEM)
	if err != nil {
		// The errors describe the mismatch or the parse failure, never the key bytes.
		return nil, fmt.Errorf("site %s (%s): certificate %s with key %s: %w", s.Name, s.File, s.Cert.File, keyRefName(s.Key), err)
	}
	routes := make([]edge.Route, 0, len(s.Routes))
	for _, r := range s.Routes {
		ups := make([]*url.URL, 0, len(r.Upstreams))
		for _, raw := range r.Upstreams {
			u, err := url.Parse(raw)
			if err != nil {
				return nil, fmt.Errorf("site %s (%s): route %s: upstream: %w", s.Name, s.File, r.Path, err)
			}
			ups = append(ups, u)
		}
		er := edge.Route{
			Path:            r.Path,
			Upstreams:       ups,
			Balance:         r.Balance,
			StripPrefix:     r.StripPrefix,
			ConnectTimeout:  r.Timeouts.Connect,
			ResponseTimeout: r.Timeouts.Response,
			IdleTimeout:     r.Timeouts.Idle,
			BodyTimeout:     r.Timeouts.Body,
			Retries:         r.Retries,
		}
		if hc := r.HealthCheck; hc != nil {
			er.HealthCheck = &edge.HealthCheck{Path: hc.Path, Interval: hc.Interval, Timeout: hc.Timeout, ExpectStatus: hc.ExpectStatus}
		}
		routes = append(routes, er)
	}
	redirects := make([]edge.Redirect, 0, len(s.Redirects))
	for _, r := range s.Redirects {
		redirects = append(redirects, edge.Redirect{Hosts: r.Hosts, Path: r.Path, To: r.To, Status: r.Status, KeepPath: r.KeepPath})
	}
	headers := edge.Headers{Set: s.Headers.Set, Remove: s.Headers.Remove}
	if h := s.Headers.HSTS; h != nil {
		headers.HSTS = &edge.HSTS{MaxAge: h.MaxAge, IncludeSubdomains: h.IncludeSubdomains, Preload: h.Preload}
	}
	return &edge.Site{
		Name:         s.Name,
		Revision:     revision,
		Hosts:        s.Hosts,
		Default:      s.Default,
		Certificates: []tls.Certificate{cert},
		Routes:       routes,
		Redirects:    redirects,
		Headers:      headers,
	}, nil
}

// certificate pairs the chain with the PEM private key, checking that the key belongs to
// the leaf. It uses the chain the schema already parsed (shared, never modified), so a site
// costs one parse of its certificates, not two; a Cert without a parsed chain is parsed
// here (crypto/tls.X509KeyPair).
func certificate(c schema.Cert, keyPEM []byte) (tls.Certificate, error) {
	if len(c.Chain) == 0 {
		cert, err := tls.X509KeyPair(c.PEM, keyPEM)
		if err == nil && cert.Leaf == nil {
			err = errors.New("no leaf certificate")
		}
		return cert, err
	}
	priv, err := parsePrivateKey(keyPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf := c.Chain[0]
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(priv.Public()) {
		return tls.Certificate{}, errors.New("private key does not match the certificate's public key")
	}
	der := make([][]byte, len(c.Chain))
	for i, x := range c.Chain {
		der[i] = x.Raw
	}
	return tls.Certificate{Certificate: der, PrivateKey: priv, Leaf: leaf}, nil
}
