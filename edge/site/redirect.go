package site

// DefaultRedirectStatus is the status of a Redirect whose Status is zero: 308 Permanent
// Redirect, which keeps the method and body.
const DefaultRedirectStatus = 308

// Redirect answers matching requests with a redirect instead of proxying them.
type Redirect struct {
	// Hosts limits the redirect to these of the site's hosts. Empty means all of them.
	Hosts []string
	// Path is a prefix the request path must have, "/" (or empty) for all.
	Path string
	// To is the target: a scheme and host with an optional path, e.g.
	// "https://example.com". Required.
	To string
	// Status is 301, 302, 307 or 308. Zero means 308.
	Status int
	// KeepPath appends the request's path and query to To.
	KeepPath bool
}

// WithDefaults returns r with an empty Path made "/" and a zero Status made 308.
func (r Redirect) WithDefaults() Redirect {
	if r.Path == "" {
		r.Path = "/"
	}
	if r.Status == 0 {
		r.Status = DefaultRedirectStatus
	}
	return r
}
