package schema

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// maxClientCAs bounds the certificates of a client_auth CA bundle.
const maxClientCAs = 100

// caCacheKey is the key of a CA bundle in Loader.certs, apart from the same file read as a
// site's certificate chain (the two are parsed differently).
func caCacheKey(file string) string { return file + "\x00client-ca" }

// finishClientCA reads and parses the CA bundle of j's client_auth, if any (or reuses the
// cached result for unchanged content), into j.ca; a file that cannot be read is an error at
// the ca field.
func (l *Loader) finishClientCA(r *repoReader, j *siteJob) {
	ca := j.res.decl.ClientAuth
	if ca == nil || ca.CA.S == "." {
		return
	}
	fail := func(err error) {
		msg := err.Error()
		if fe, ok := err.(*fileError); ok {
			msg = fe.msg
		}
		j.ds = append(append([]Diagnostic(nil), j.ds...), Diagnostic{File: j.file, Line: ca.CA.P.Line, Col: ca.CA.P.Col,
			Severity: SeverityError, Message: fmt.Sprintf("client_auth ca file %s %s", ca.CA.S, msg)})
	}
	f, err := r.stat(ca.CA.S)
	if err != nil {
		fail(err)
		return
	}
	h, err := f.id()
	if err != nil {
		fail(err)
		return
	}
	key := caCacheKey(ca.CA.S)
	l.cmu.Lock()
	cr := l.certs[key]
	l.cmu.Unlock()
	if cr == nil || cr.hash != h {
		b, err := f.read()
		if err != nil {
			fail(err)
			return
		}
		cr = &certResult{hash: h, pem: b, facts: parseCABundle(b)}
		l.cmu.Lock()
		l.certs[key] = cr
		l.cmu.Unlock()
	}
	j.ca = cr
}

// parseCABundle parses a PEM bundle of CA certificates: only CERTIFICATE blocks that all
// parse, each a CA, at most maxClientCAs.
func parseCABundle(b []byte) *certFacts {
	cf := &certFacts{}
	blocks, problems := scanPEM(b)
	if len(problems) > 0 {
		cf.problems = problems
		return cf
	}
	if len(blocks) > maxClientCAs {
		cf.problems = append(cf.problems, fmt.Sprintf("holds %d certificates; at most %d", len(blocks), maxClientCAs))
		return cf
	}
	for n, blk := range blocks {
		c, err := x509.ParseCertificate(blk.der)
		switch {
		case err != nil:
			p := fmt.Sprintf("certificate #%d (line %d) does not parse: %v", n+1, blk.line, strings.TrimPrefix(err.Error(), "x509: "))
			if isPrivateKeyDER(blk.der) {
				p = keyProblem(blk.line)
			}
			cf.problems = append(cf.problems, p)
		case !c.BasicConstraintsValid || !c.IsCA:
			cf.problems = append(cf.problems, fmt.Sprintf("certificate #%d (line %d, %q) is not a CA certificate; client_auth ca lists the CAs that issue client certificates", n+1, blk.line, c.Subject.CommonName))
		default:
			if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() > maxRSABits {
				cf.problems = append(cf.problems, fmt.Sprintf("certificate #%d (line %d) has a %d-bit RSA key; at most %d bits", n+1, blk.line, k.N.BitLen(), maxRSABits))
				continue
			}
			cf.chain = append(cf.chain, c)
		}
	}
	if len(cf.chain) == 0 && len(cf.problems) == 0 {
		cf.problems = append(cf.problems, "holds no PEM certificate (want blocks beginning with -----BEGIN CERTIFICATE-----)")
	}
	return cf
}

// withClientAuth completes the built site b of res with its client_auth from the CA bundle
// ca: the CAs and mode, and a digest covering the bundle too. A bundle with problems is an
// error at the ca field; a bundle that could not be read (ca nil, already reported) leaves
// no site.
func withClientAuth(b *builtSite, ds []Diagnostic, res *siteResult, cr *certResult, repo *repoResult, ca *certResult) (*builtSite, []Diagnostic) {
	d := res.decl
	if b == nil || d.ClientAuth == nil {
		return b, ds
	}
	if ca == nil {
		return nil, ds
	}
	if len(ca.facts.problems) > 0 {
		for _, p := range ca.facts.problems {
			ds = append(ds, Diagnostic{File: d.File, Line: d.ClientAuth.CA.P.Line, Col: d.ClientAuth.CA.P.Col, Severity: SeverityError,
				Message: fmt.Sprintf("client_auth ca file %s %s", d.ClientAuth.CA.S, p)})
		}
		return nil, ds
	}
	b.site.ClientAuth = &site.ClientAuth{CAFile: d.ClientAuth.CA.S, CAs: ca.facts.chain, Mode: d.ClientAuth.Mode}
	b.site.Digest = hexDigest(res.hash, cr.hash, repo.hash, ca.hash)
	return b, ds
}

// checkAuthPolicy refuses forward_auth URLs outside policy.allowed_upstreams: the edge
// connects to them as it does to upstreams.
func checkAuthPolicy(d *siteDecl, repo *repoResult) []Diagnostic {
	var ds []Diagnostic
	for _, r := range d.Routes {
		if r.ForwardAuth == nil || r.ForwardAuth.URL == nil {
			continue
		}
		host, err := parseAuthURL(r.ForwardAuth.URL.String())
		if err == nil && !allowed(repo.decl.AllowedParsed, host) {
			p := r.Path.P
			ds = append(ds, Diagnostic{File: d.File, Line: p.Line, Col: p.Col, Severity: SeverityError,
				Message: fmt.Sprintf("route %q: forward_auth url %q is not allowed by the repo policy: %s is not in policy.allowed_upstreams (%s)",
					r.Path.S, r.ForwardAuth.URL, host, sansList(repoAllowed(repo)))})
		}
	}
	return ds
}
