package edge

import "errors"

// Errors Server.Publish wraps (with errors.Join, one per problem, each naming the site), so
// callers can test for a kind of problem with errors.Is.
var (
	// ErrInvalidSite marks a site that is malformed on its own: no name, a bad host, a
	// route or redirect that cannot be served, a bad header.
	ErrInvalidSite = errors.New("edge: invalid site")
	// ErrDuplicateSite marks two sites with the same name.
	ErrDuplicateSite = errors.New("edge: duplicate site name")
	// ErrDuplicateHost marks a host claimed by two sites (or twice by one).
	ErrDuplicateHost = errors.New("edge: duplicate host")
	// ErrMultipleDefaults marks more than one site with Default set.
	ErrMultipleDefaults = errors.New("edge: more than one default site")
	// ErrNoCertificate marks a site without a usable certificate: none at all, no Leaf (nor
	// Leaves entry), no private key, or two of the same key type.
	ErrNoCertificate = errors.New("edge: no usable certificate")
	// ErrHostNotCovered marks a host that none of its site's certificates covers.
	ErrHostNotCovered = errors.New("edge: host not covered by any certificate")
	// ErrNothingToServe marks a site with neither routes nor redirects.
	ErrNothingToServe = errors.New("edge: site has no routes and no redirects")
)

// ErrServerClosed is returned by Server.Start after Server.Shutdown.
var ErrServerClosed = errors.New("edge: server closed")

// errNilSnapshot is returned by Server.swap when given nil.
var errNilSnapshot = errors.New("edge: nil snapshot")
