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
	// Certificates are the site's certificate chains with Leaf filled in and the private key
	// attached; at most one per key type (ECDSA, RSA, Ed25519). At least one, except for
	// a passthrough site (Passthrough set), which has none.
	Certificates []tls.Certificate
}
