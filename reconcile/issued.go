package reconcile

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/schema"
)

// IssuedCerts gives the certificates of the sites that ask for an issued one
// (tls: {issuer}); issue.Manager is the real one.
type IssuedCerts interface {
	// Set makes it look after exactly wants, issued by cfgs.
	Set(ctx context.Context, cfgs map[string]issue.Config, wants []issue.Want)
	// Get returns site's current certificate and its version.
	Get(site string) (*tls.Certificate, int, bool)
	// Status returns site's issuance state.
	Status(site string) (issue.SiteStatus, bool)
	// Generation changes when a certificate or a state changes.
	Generation() uint64
}

// errNoIssuer is the error of an issued site on an agent without IssuedCerts.
var errNoIssuer = errors.New("issued certificates need Vault (--keys vault): this agent has no store for them")

// syncIssued hands the sites of cfg that ask for an issued certificate to IssuedCerts and
// remembers the generation it compiled against.
func (a *Agent) syncIssued(ctx context.Context, cfg *schema.Config) {
	if a.opts.Issued == nil {
		return
	}
	var wants []issue.Want
	for _, s := range cfg.Sites {
		if s.Issuer != "" {
			wants = append(wants, issue.Want{Site: s.Name, Names: s.Hosts, Issuer: s.Issuer})
		}
	}
	a.opts.Issued.Set(ctx, cfg.Issuers, wants)
	a.issuedGen = a.opts.Issued.Generation()
}

// issuedDue reports whether an issued certificate or state changed since the last compile.
func (a *Agent) issuedDue() bool {
	return a.opts.Issued != nil && a.cfg != nil && a.opts.Issued.Generation() != a.issuedGen
}

// compileIssued compiles a site whose certificate is issued: prev when neither the
// declaration nor the certificate changed, an error while none is issued (the site is not
// served: its names are refused like unknown ones).
func (a *Agent) compileIssued(s *schema.Site, prev *compiledSite, commit string) (*compiledSite, error) {
	if a.opts.Issued == nil {
		return nil, fmt.Errorf("site %s (%s): %w", s.Name, s.File, errNoIssuer)
	}
	cert, version, ok := a.opts.Issued.Get(s.Name)
	if !ok {
		why := "not issued yet"
		if st, ok := a.opts.Issued.Status(s.Name); ok {
			why = string(st.State)
			if st.Reason != "" {
				why += ": " + st.Reason
			}
		}
		return nil, fmt.Errorf("site %s (%s): certificate from issuer %s: %s", s.Name, s.File, s.Issuer, why)
	}
	if prev != nil && prev.decl.Digest == s.Digest && prev.keyVersion == version && len(prev.site.Certificates) > 0 && prev.site.Certificates[0].Leaf == cert.Leaf {
		return prev, nil
	}
	site := &edge.Site{Site: s.Site, Commit: commit, Certificates: []tls.Certificate{*cert}}
	return &compiledSite{decl: s, keyVersion: version, site: site}, nil
}

// issueStatus is site s's issuance state for SiteStatus; nil for a committed certificate.
func (a *Agent) issueStatus(s *schema.Site) *issue.SiteStatus {
	if s.Issuer == "" || a.opts.Issued == nil {
		return nil
	}
	st, ok := a.opts.Issued.Status(s.Name)
	if !ok {
		return nil
	}
	return &st
}
