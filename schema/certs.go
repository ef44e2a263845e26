package schema

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// certFacts is what a certificate file holds, independent of the sites using it and of the
// time: cached by content hash. A site's chain keeps no parsed x509.Certificate after its
// checks: only its DER and its leaf's CertLeaf (slimChain).
type certFacts struct {
	chain    []*x509.Certificate // a client-auth CA bundle's certificates (parseCABundle); nil for a site's chain
	der      [][]byte            // a site's chain, leaf first, DER (the issuers' shared with every chain naming them)
	leaf     *site.CertLeaf      // a site's leaf certificate; nil when the file has problems
	issuers  []*x509.Certificate // a site chain's issuers: the shared parses (certInterner), held so later chains share them
	problems []string            // each a sentence about the file, e.g. "is not a proper chain: ..."
	notAfter time.Time           // the earliest expiry in the chain
	which    string              // the certificate expiring first, described for messages
	sigKeys  [][32]byte          // the chain's signature checks, for the evaluation cache

	// What der, leaf and issuers hold for a chain of at most two certificates (a leaf and
	// its issuer, the usual one): one allocation per site, not four (slimChain).
	derBuf  [2][]byte
	leafBuf site.CertLeaf
	issBuf  [1]*x509.Certificate
}

// maxRSABits is the largest RSA key a certificate file may hold, as Go's TLS clients
// accept.
const maxRSABits = 8192

// parseCertChain parses a PEM certificate chain and checks it is one: only CERTIFICATE
// blocks that all parse (see scanPEM), leaf first, each certificate signed by the next.
func parseCertChain(b []byte) *certFacts { return parseCertChainWith(b, sigChecks{}) }

// parseCertChainWith is parseCertChain skipping the signature checks sigs knows as done.
func parseCertChainWith(b []byte, sigs sigChecks) *certFacts {
	cf := &certFacts{}
	chain := parseChainBlocks(cf, b)
	if len(cf.problems) > 0 {
		return cf
	}
	checkChain(cf, chain, sigs)
	if len(cf.problems) == 0 {
		slimChain(cf, chain)
	}
	return cf
}

// slimChain keeps of a checked chain what its readers use: the DER of each certificate and
// the leaf's CertLeaf. The parsed leaf (its struct, public key and extensions) is then
// garbage; the issuers' DER is the shared parse's (certInterner).
func slimChain(cf *certFacts, chain []*x509.Certificate) {
	n := len(chain)
	if n <= len(cf.derBuf) {
		cf.der = cf.derBuf[:n:n]
	} else {
		cf.der = make([][]byte, n)
	}
	for i, c := range chain {
		cf.der[i] = c.Raw
	}
	cf.leafBuf = site.CertLeafOf(chain[0])
	cf.leaf = &cf.leafBuf
	switch {
	case n == 2:
		cf.issBuf[0] = chain[1]
		cf.issuers = cf.issBuf[:1:1]
	case n > 2:
		// a copy: chain[1:] would hold chain's array, and so the parsed leaf
		cf.issuers = append([]*x509.Certificate(nil), chain[1:]...)
	}
}

// parseChainBlocks parses the PEM blocks of b into certificates, noting every problem in
// cf (then the chain returned is incomplete).
func parseChainBlocks(cf *certFacts, b []byte) []*x509.Certificate {
	blocks, problems := scanPEM(b)
	if len(problems) > 0 {
		cf.problems = problems
		return nil
	}
	var chain []*x509.Certificate
	for n, blk := range blocks {
		var c *x509.Certificate
		var err error
		if n == 0 {
			c, err = x509.ParseCertificate(blk.der)
		} else {
			c, err = issuers.parse(blk.der)
		}
		if err != nil {
			p := fmt.Sprintf("certificate #%d (line %d) does not parse: %v", n+1, blk.line, strings.TrimPrefix(err.Error(), "x509: "))
			if isPrivateKeyDER(blk.der) {
				p = keyProblem(blk.line) // a key labelled CERTIFICATE
			}
			cf.problems = append(cf.problems, p)
			continue
		}
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() > maxRSABits {
			// checking a signature with a huge key costs minutes of CPU
			cf.problems = append(cf.problems, fmt.Sprintf("certificate #%d (line %d) has a %d-bit RSA key; at most %d bits (TLS clients refuse larger keys)", n+1, blk.line, k.N.BitLen(), maxRSABits))
			continue
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 && len(cf.problems) == 0 {
		cf.problems = append(cf.problems, "holds no PEM certificate (want blocks beginning with -----BEGIN CERTIFICATE-----)")
	}
	return chain
}

// checkChain checks a parsed chain: a leaf for TLS servers first, each certificate signed
// by the next (sigs skips the checks known as done); it notes the earliest expiry.
func checkChain(cf *certFacts, chain []*x509.Certificate, sigs sigChecks) {
	leaf := chain[0]
	if leaf.IsCA && len(chain) > 1 {
		cf.problems = append(cf.problems, fmt.Sprintf("starts with a CA certificate (%s); put the site's own (leaf) certificate first, then its issuers", describeCert(leaf)))
		return
	}
	if len(leaf.ExtKeyUsage) > 0 && !hasServerAuth(leaf) {
		cf.problems = append(cf.problems, fmt.Sprintf("has a leaf certificate (%s) that is not for TLS servers (no serverAuth extended key usage)", describeCert(leaf)))
	}
	cf.notAfter, cf.which = leaf.NotAfter, "certificate"
	for _, c := range chain[1:] {
		if c.NotAfter.Before(cf.notAfter) {
			cf.notAfter, cf.which = c.NotAfter, "issuer certificate "+describeCert(c)+" in the chain"
		}
	}
	for i := 0; i+1 < len(chain); i++ {
		if err := sigs.check(cf, chain[i], chain[i+1]); err != nil {
			cf.problems = append(cf.problems, fmt.Sprintf("is not a proper chain: certificate #%d (%s) is not signed by the next one, #%d (%s); order the file leaf first, each certificate followed by its issuer",
				i+1, describeCert(chain[i]), i+2, describeCert(chain[i+1])))
			break
		}
	}
}

func hasServerAuth(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

func describeCert(c *x509.Certificate) string {
	name := c.Subject.CommonName
	if name == "" && len(c.DNSNames) > 0 {
		name = c.DNSNames[0]
	}
	if name == "" {
		name = c.Subject.String()
	}
	return fmt.Sprintf("%q", name)
}

// uncovered returns the declared hosts the leaf certificate does not cover. Only DNS SANs
// count (the subject common name is ignored, as by crypto/tls); a "*.x" SAN covers one label.
func uncovered(leaf *site.CertLeaf, hosts []strPos) []strPos {
	var out []strPos
	for _, h := range hosts {
		ok := false
		for _, san := range leaf.DNSNames {
			if nameCovers(san, h.S) {
				ok = true
				break
			}
		}
		if !ok {
			out = append(out, h)
		}
	}
	return out
}

// expiry judges the earliest expiry in a chain at now: "" when fine, else a message and
// whether it is an error.
func expiry(cf *certFacts, now time.Time, warnWithin, errorWithin time.Duration) (msg string, isErr, any bool) {
	left := cf.notAfter.Sub(now)
	at := func() string { return cf.notAfter.UTC().Format(time.RFC3339) }
	switch {
	case left <= 0:
		return fmt.Sprintf("%s expired at %s; renew it", cf.which, at()), true, true
	case errorWithin > 0 && left <= errorWithin:
		return fmt.Sprintf("%s expires at %s, within %s (cert_error_within); renew it", cf.which, at(), formatDuration(errorWithin)), true, true
	case warnWithin > 0 && left <= warnWithin:
		return fmt.Sprintf("%s expires at %s, within %s (cert_warn_within); renew it soon", cf.which, at(), formatDuration(warnWithin)), false, true
	}
	if nb := cf.leaf.NotBefore; now.Before(nb) {
		return fmt.Sprintf("certificate is not valid before %s; clients will refuse it until then", nb.UTC().Format(time.RFC3339)), false, true
	}
	return "", false, false
}

// nextExpiryChange returns the first instant after now at which expiry's judgement of cf
// changes (a window opens, the chain expires, the leaf becomes valid), or zero when it
// never does or expiry is not judged (the chain has problems).
func nextExpiryChange(cf *certFacts, now time.Time, warnWithin, errorWithin time.Duration) time.Time {
	if cf == nil || len(cf.problems) > 0 || cf.leaf == nil {
		return time.Time{}
	}
	na := cf.notAfter
	ts := []time.Time{na, cf.leaf.NotBefore}
	if errorWithin > 0 {
		ts = append(ts, na.Add(-errorWithin))
	}
	if warnWithin > 0 {
		ts = append(ts, na.Add(-warnWithin))
	}
	var next time.Time
	for _, t := range ts {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}
