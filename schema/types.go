package schema

import (
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/reconcile/issue"
)

// Config is a validated config repo: the repo-level defaults and policy plus every site.
type Config struct {
	// Defaults are the fleet-wide defaults and policy from the optional repo-level file.
	Defaults Defaults
	// Sites are sorted by Name.
	Sites []*Site
	// Issuers are the issuers edge.cue declares, by name; nil when none.
	Issuers map[string]issue.Config
	// Warnings are problems that do not make the repo invalid (e.g. a certificate that
	// expires within the warning window).
	Warnings Diagnostics
}

// Defaults are the fleet-wide settings every site inherits unless it overrides them.
type Defaults struct {
	// HSTS is the default HSTS policy; nil disables it by default (the schema turns it on).
	HSTS *site.HSTS
	// Timeouts applied to routes that do not set their own; zero fields mean the data
	// plane's defaults (see site.Timeouts).
	Timeouts site.Timeouts
	// AllowedUpstreams lists CIDR networks (and/or host names) upstreams must be in. Empty
	// means any.
	AllowedUpstreams []string
	// CertWarnWithin: a certificate expiring within this window is a warning.
	CertWarnWithin time.Duration
	// CertErrorWithin: a certificate expiring within this window is an error.
	CertErrorWithin time.Duration
	// AllowWildcardOverlap lets a site declare an exact name that another site's wildcard
	// covers (the exact name wins). False (the default) makes that an error.
	AllowWildcardOverlap bool
}

// Site is one validated site declaration (sites/<name>.cue): the site as the data plane
// serves it (site.Site, with its upstream URLs parsed and the repo's defaults applied) and
// what only the config repo knows: where it is declared, its certificate file, where its
// private key is, and a digest of it all.
type Site struct {
	// Site is what the site is: Name (the base name of the declaration file without
	// ".cue"), Hosts (lower-case IDNA ASCII names without trailing dot; "*.x" wildcards
	// allowed), Default, Routes, Redirects and Headers.
	site.Site
	// File is the declaration's path relative to the repo root, slash-separated.
	File string
	// Cert is the site's public certificate chain.
	Cert Cert
	// Key refers to the private key in Vault KV v2 (or the local key directory).
	Key KeyRef
	// Issuer, when not empty, is the name of the issuer (Config.Issuers) the site's
	// certificate comes from (tls: {issuer}); Cert and Key are then empty.
	Issuer string
	// Digest is a hex SHA-256 over the declaration file, the certificate file and the
	// repo-level edge.cue (whose defaults the site inherits): equal digests mean the site is
	// unchanged (the key is tracked separately by KeyRef).
	Digest string
}

// Cert is a certificate chain loaded from a PEM file in the repo.
type Cert struct {
	// File is the PEM file's path relative to the repo root.
	File string
	// PEM is the file's content.
	PEM []byte
	// DER is the chain, leaf first, DER-encoded (as tls.Certificate.Certificate); nil
	// when the file was not parsed. Never modified: the issuers' DER is shared between
	// the sites naming them.
	DER [][]byte
	// Leaf is what the checks, the compile and the data plane need of the leaf certificate
	// (names, validity, key algorithm, public key), kept instead of a parsed
	// x509.Certificate; nil when DER is. Shared, never modified.
	Leaf *site.CertLeaf
}

// KeyRef points at a private key in Vault KV v2.
type KeyRef struct {
	// Mount is the KV v2 mount, e.g. "secret".
	Mount string
	// Path is the secret's path below the mount, e.g. "edge/acme.example".
	Path string
	// Field is the field of the secret that holds the PEM key, e.g. "key".
	Field string
	// Version pins a KV v2 version; zero means latest.
	Version int
}
