package site

import "time"

// SameSite is the SameSite attribute of a sticky-session cookie.
type SameSite string

// The SameSite attributes.
const (
	SameSiteLax    SameSite = "lax"
	SameSiteStrict SameSite = "strict"
	SameSiteNone   SameSite = "none"
)

// Defaults of the zero Sticky fields.
const (
	DefaultStickySameSite = SameSiteLax
)

// Sticky pins a client to one upstream of a route with a cookie the edge sets: the first
// response names the upstream that answered, and later requests carrying the cookie go to
// that upstream while it is available. The cookie's value is a hash of the site's name and
// the upstream's URL (never the address in clear), the same on every edge server, so it
// survives snapshot swaps, upstreams added or removed, and a client moving between the
// servers of a fleet. A value naming no available upstream of the route (removed,
// unhealthy, ejected, tampered with) is ignored: the request is balanced as usual and the
// cookie set again. The cookie is Secure and, unless HTTPOnly is false, HttpOnly; it is
// passed on to the app like any other cookie.
type Sticky struct {
	// Cookie is the cookie's name, an HTTP token (e.g. "edge_srv"). Required.
	Cookie string
	// Path is the cookie's Path attribute. Empty means the route's path.
	Path string
	// MaxAge is the cookie's Max-Age. Zero means a session cookie (none sent).
	MaxAge time.Duration
	// SameSite is the cookie's SameSite attribute. Empty means SameSiteLax.
	SameSite SameSite
	// NoHTTPOnly leaves out the HttpOnly attribute, for a page script that must read the
	// cookie. The zero value (false) sends HttpOnly.
	NoHTTPOnly bool
}

// WithDefaults returns s with its zero Path (the route's path routePath) and SameSite
// replaced by their defaults.
func (s Sticky) WithDefaults(routePath string) Sticky {
	if s.Path == "" {
		s.Path = routePath
		if s.Path == "" {
			s.Path = "/"
		}
	}
	if s.SameSite == "" {
		s.SameSite = DefaultStickySameSite
	}
	return s
}
