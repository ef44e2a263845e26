package schema

import (
	"time"

	"github.com/edgectl/edge/edge/site"
)

// pos is a 1-based line and column in a file; zero means the file as a whole.
type pos struct{ Line, Col int }

// strPos is a string value and where it is written.
type strPos struct {
	S string
	P pos
}

// siteDecl is what one site file declares, before the repo's defaults are applied. It is
// derived only from the file's content, so it is cached by content hash.
type siteDecl struct {
	Name    string
	File    string
	NamePos pos      // the site's label
	Hosts   []strPos // normalised
	Dflt    bool
	DfltPos pos
	Cert    strPos
	Key     KeyRef
	Routes  []routeDecl
	Redirs  []redirectDecl
	Headers headersDecl
	Pass    *passthroughDecl // nil for a site the edge terminates
	Pages   pagesDecl        // error_pages, maintenance, rewrites (extract_pages.go)
	Access  accessDecl       // IP rule, forbidden paths, rate limit
	// ClientAuth is the site's client_auth; nil when it has none.
	ClientAuth *clientAuthDecl
	Issuer     strPos // tls.issuer: the site's certificate is issued; empty: Cert and Key
}

// passthroughDecl is a passthrough site's declaration: TCP upstreams and their options.
type passthroughDecl struct {
	P             pos
	Upstreams     []strPos // "host:port" as written
	Balance       string
	ProxyProtocol bool
	Timeouts      timeoutsDecl // Connect and Idle only
	Health        *site.HealthCheck
}

type routeDecl struct {
	Path      strPos
	Upstreams []strPos
	Balance   string
	Strip     bool
	Timeouts  timeoutsDecl
	Retries   int
	Health    *site.HealthCheck
	Enc       encodeDecl  // compress, cache_control, cors
	Access    accessDecl  // IP rule, rate limit
	Static    *staticDecl // nil for a proxied route
	// BasicAuth and ForwardAuth are the route's authentication (shared, never changed).
	BasicAuth   *site.BasicAuth
	ForwardAuth *site.ForwardAuth
	Weights     []int        // nil: every weight 1
	Sticky      *site.Sticky // nil: no affinity
}

// timeoutsDecl holds the timeouts a file sets; nil means unset (inherit).
type timeoutsDecl struct {
	Connect, Response, Idle, Body *time.Duration
}

type redirectDecl struct {
	P        pos
	To       strPos
	Hosts    []strPos // normalised; empty means all of the site's hosts
	Path     string
	Status   int
	KeepPath bool
}

// hstsDecl is an HSTS setting: unset inherits the repo's, off disables, else the fields set.
type hstsDecl struct {
	P       pos
	Set     bool
	Off     bool
	MaxAge  *time.Duration
	Subdoms *bool
	Preload *bool
}

type headersDecl struct {
	HSTS   hstsDecl
	Set    map[string]string
	Remove []string
}

// repoDecl is what the repo-level file edge.cue declares.
type repoDecl struct {
	HSTS          hstsDecl
	Timeouts      timeoutsDecl
	Allowed       []strPos
	WarnWithin    *time.Duration
	ErrorWithin   *time.Duration
	AllowOverlap  bool
	AllowedParsed []allowEntry
	Compress      compressDecl          // defaults.compress
	Issuers       map[string]issuerDecl // by name
}
