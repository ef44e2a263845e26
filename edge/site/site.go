package site

// Site is one site: the host names it answers and what it does with their requests.
type Site struct {
	// Name identifies the site (the base name of its declaration file). Required, unique.
	Name string
	// Hosts are the names served: lower-case, IDNA ASCII, no trailing dot. "*.example.com"
	// covers exactly one label below example.com. At least one.
	Hosts []string
	// Default makes this site answer handshakes with an unknown SNI or none. At most one
	// site of a fleet may be the default. The zero value (false) refuses them.
	Default bool
	// Routes map path prefixes to upstreams, the longest prefix winning. May be empty for
	// a redirect-only site.
	Routes []Route
	// Redirects are answered before routes. May be empty.
	Redirects []Redirect
	// Headers are added to (or removed from) every response of the site.
	Headers Headers
	// Passthrough, when set, makes this a passthrough site: its TLS connections go, not
	// terminated, to the Passthrough's upstreams, and Routes, Redirects and Headers are
	// empty. Nil for a site the edge terminates.
	Passthrough *Passthrough
	// ErrorPages, Maintenance and Rewrites (see pages.go, rewrite.go): the site's own
	// error pages (nil: plain text), its maintenance switch (nil: off) and the rewrites
	// applied before routing, in order (empty: none).
	ErrorPages  *ErrorPages
	Maintenance *Maintenance
	Rewrites    []Rewrite
}
