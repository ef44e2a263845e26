package site

import "time"

// Headers changes the response headers of a site: Remove, then Set, then HSTS.
type Headers struct {
	// HSTS is the Strict-Transport-Security policy. Nil means no header.
	HSTS *HSTS
	// Set headers replace whatever the upstream sent.
	Set map[string]string
	// Remove deletes these headers from upstream responses (e.g. "Server", "X-Powered-By").
	Remove []string
}

// DefaultHSTSMaxAge is the max-age of the HSTS policy a config repo gets unless it says
// otherwise: 365 days, the minimum browsers' preload lists accept.
const DefaultHSTSMaxAge = 365 * 24 * time.Hour

// HSTS is a Strict-Transport-Security policy.
type HSTS struct {
	// MaxAge is how long browsers remember to use HTTPS only; sent in whole seconds.
	MaxAge time.Duration
	// IncludeSubdomains extends the policy to every subdomain.
	IncludeSubdomains bool
	// Preload asks to be in browsers' preload lists (which require IncludeSubdomains and a
	// MaxAge of at least 365 days).
	Preload bool
}
