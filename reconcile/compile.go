package reconcile

import (
	"crypto/tls"
	"fmt"
	"net/url"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/schema"
)

// CompileSite turns one validated site declaration and its private key into the value the
// data plane serves. The key must match the certificate. Errors name the site and its file
// and never contain key material.
func CompileSite(s *schema.Site, key Key, revision string) (*edge.Site, error) {
	cert, err := tls.X509KeyPair(s.Cert.PEM, key.PEM)
	if err != nil {
		// crypto/tls errors describe the mismatch or the parse failure, never the key bytes.
		return nil, fmt.Errorf("site %s (%s): certificate %s with key %s: %w", s.Name, s.File, s.Cert.File, refString(s.Key), err)
	}
	if cert.Leaf == nil {
		return nil, fmt.Errorf("site %s (%s): certificate %s: no leaf certificate", s.Name, s.File, s.Cert.File)
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

// refString names a key reference for messages: mount/path#field@version.
func refString(r schema.KeyRef) string {
	s := r.Mount + "/" + r.Path + "#" + r.Field
	if r.Version > 0 {
		s += fmt.Sprintf("@v%d", r.Version)
	}
	return s
}
