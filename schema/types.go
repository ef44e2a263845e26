package schema

import (
	"crypto/x509"
	"time"
)

// Config is a validated config repo: the repo-level defaults and policy plus every site.
type Config struct {
	// Defaults are the fleet-wide defaults and policy from the optional repo-level file.
	Defaults Defaults
	// Sites are sorted by Name.
	Sites []*Site
	// Warnings are problems that do not make the repo invalid (e.g. a certificate that
	// expires within the warning window).
	Warnings Diagnostics
}

// Defaults are the fleet-wide settings every site inherits unless it overrides them.
type Defaults struct {
	// HSTS is the default HSTS policy; nil disables it by default (the schema turns it on).
	HSTS *HSTS
	// Timeouts applied to routes that do not set their own.
	Timeouts Timeouts
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

// Site is one validated site declaration (sites/<name>.cue).
type Site struct {
	// Name is the base name of the declaration file without ".cue".
	Name string
	// File is the declaration's path relative to the repo root, slash-separated.
	File string
	// Hosts are lower-case IDNA ASCII names without trailing dot; "*.x" wildcards allowed.
	Hosts []string
	// Default marks the site that answers unknown or absent SNI.
	Default bool
	// Cert is the site's public certificate chain.
	Cert Cert
	// Key refers to the private key in Vault KV v2 (or the local key directory).
	Key KeyRef
	// Routes, longest prefix wins.
	Routes []Route
	// Redirects are answered before routes.
	Redirects []Redirect
	// Headers changes responses.
	Headers Headers
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
	// Chain is the parsed chain, leaf first.
	Chain []*x509.Certificate
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

// Route maps a path prefix to upstreams.
type Route struct {
	Path        string
	Upstreams   []string // absolute http/https URLs
	Balance     string   // "round_robin" or "least_conn"
	StripPrefix bool
	Timeouts    Timeouts
	Retries     int
	HealthCheck *HealthCheck
}

// Timeouts of a route; zero values mean the data plane's defaults.
type Timeouts struct {
	Connect  time.Duration
	Response time.Duration
	Idle     time.Duration
	// Body is the request-body idle timeout (no body byte for this long: 408).
	Body time.Duration
}

// HealthCheck is an active health check.
type HealthCheck struct {
	Path         string
	Interval     time.Duration
	Timeout      time.Duration
	ExpectStatus int
}

// Redirect answers matching requests with a redirect.
type Redirect struct {
	Hosts    []string
	Path     string
	To       string
	Status   int
	KeepPath bool
}

// Headers changes a site's responses.
type Headers struct {
	HSTS   *HSTS
	Set    map[string]string
	Remove []string
}

// HSTS is a Strict-Transport-Security policy.
type HSTS struct {
	MaxAge            time.Duration
	IncludeSubdomains bool
	Preload           bool
}
