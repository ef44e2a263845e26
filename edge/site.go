package edge

import (
	"crypto/tls"

	"github.com/edgectl/edge/edge/site"
)

// Site is one compiled site as the data plane serves it: the site's description
// (site.Site: hosts, routes, redirects, headers) plus what serving it needs beside that,
// its certificates with their private keys. It is built by reconcile.CompileSite (from a
// schema.Site and its private key) and never changed after it is handed to
// Server.Publish. The edge package knows nothing of git, CUE or Vault.
type Site struct {
	site.Site
	// Commit is the config-repo commit this version of the site came from. May be empty.
	Commit string
	// Certificates are the site's certificate chains with the private key attached and
	// Leaf filled in, or Leaf nil and Leaves[i] set; at most one per key type (ECDSA, RSA,
	// Ed25519). At least one, except for a passthrough site (Passthrough set), which has
	// none.
	Certificates []tls.Certificate
	// Leaves, when not nil, has for each of Certificates (same index) what the data plane
	// needs of its leaf certificate: names, expiry, key type. A certificate with a Leaves
	// entry needs no Leaf (reconcile.CompileSite leaves it nil: a parsed x509.Certificate
	// costs about 2.5 KB of heap per site, most of it pointers each GC cycle scans).
	Leaves []*site.CertLeaf
	// Users are the basic-auth users of the routes that have BasicAuth, by the secret a
	// route names (BasicAuth.Users): user name -> password hash, as read from Vault by the
	// agent. Secret: never log them. Nil when no route has BasicAuth.
	Users map[site.SecretRef]map[string]string
}
