package edge

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net/http"

	"github.com/edgectl/edge/edge/site"
)

// clientAuthTLS are the TLS configurations of a site with ClientAuth (mTLS): the
// snapshot's, asking for a client certificate verified against the site's CAs.
type clientAuthTLS struct {
	tls, tls3 *tls.Config
}

// clientAuthConfigs returns the configurations of the sites of snap that have ClientAuth,
// derived from the snapshot's cfg; nil when none has. Only those sites' handshakes ask for
// a certificate: the others get cfg itself, at the cost of one nil check.
//
// Session tickets are off for these sites: crypto/tls would resume a session whose
// certificate was verified for another site (another CA) without verifying it again, and
// would resume here sessions of sites that never asked for one.
func clientAuthConfigs(snap *Snapshot, cfg *tls.Config) map[*siteEntry]clientAuthTLS {
	var out map[*siteEntry]clientAuthTLS
	for _, e := range snap.sites {
		ca := e.site.ClientAuth
		if ca == nil {
			continue
		}
		c := cfg.Clone()
		c.ClientCAs = x509.NewCertPool()
		for _, cert := range ca.CAs {
			c.ClientCAs.AddCert(cert)
		}
		c.ClientAuth = tls.RequireAndVerifyClientCert
		if ca.WithDefaults().Mode == site.ClientCertOptional {
			c.ClientAuth = tls.VerifyClientCertIfGiven
		}
		c.SessionTicketsDisabled = true
		if out == nil {
			out = make(map[*siteEntry]clientAuthTLS)
		}
		out[e] = clientAuthTLS{tls: c, tls3: h3Variant(c)}
	}
	return out
}

// configFor returns the configuration of the handshake of the site of e: the snapshot's,
// or the site's own with ClientAuth.
func (st *served) configFor(e *hostEntry, h3 bool) *tls.Config {
	if e.site.site.ClientAuth != nil {
		if c, ok := st.clientAuth[e.site]; ok {
			if h3 {
				return c.tls3
			}
			return c.tls
		}
	}
	if h3 {
		return st.tls3
	}
	return st.tls
}

// clientCertStep is the request step of client certificates: it removes the client-sent
// identity headers from every request, refuses (403) a request of a site requiring a
// certificate on a connection without a verified one (one opened before the site required
// it), and passes the verified certificate's subject and fingerprint to the app. It
// reports whether the request goes on.
func clientCertStep(w http.ResponseWriter, r *http.Request, e *siteEntry, d Denials) bool {
	delete(r.Header, site.ClientCertSubjectHeader)
	delete(r.Header, site.ClientCertFingerprintHeader)
	ca := e.site.ClientAuth
	if ca == nil {
		return true
	}
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		if ca.WithDefaults().Mode == site.ClientCertOptional {
			return true
		}
		d.deny(w, r, e, http.StatusForbidden, DenyClientCert)
		return false
	}
	leaf := r.TLS.VerifiedChains[0][0]
	sum := sha256.Sum256(leaf.Raw)
	r.Header[site.ClientCertSubjectHeader] = []string{headerSafe(leaf.Subject.String())}
	r.Header[site.ClientCertFingerprintHeader] = []string{hex.EncodeToString(sum[:])}
	return true
}

// headerSafe percent-encodes what a header value must not carry as it is (control bytes,
// non-ASCII) and "%" itself: a subject cannot inject a header or break the request.
func headerSafe(s string) string {
	const hexDigits = "0123456789ABCDEF"
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '%' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '%' {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		b = append(b, c)
	}
	return string(b)
}
