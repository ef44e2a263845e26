package schema

import (
	"time"

	"github.com/edgectl/edge/edge/site"
)

// pos is a 1-based line and column in a file; zero means the file as a whole.
type pos struct {
	Line, Col int `json:",omitzero"`
}

// strPos is a string value and where it is written.
type strPos struct {
	S string `json:",omitzero"`
	P pos    `json:",omitzero"`
}

// siteDecl is what one site file declares, before the repo's defaults are applied. It is
// derived only from the file's content, so it is cached by content hash.
type siteDecl struct {
	Name    string           `json:",omitzero"`
	File    string           `json:",omitzero"`
	NamePos pos              `json:",omitzero"` // the site's label
	Hosts   []strPos         `json:",omitzero"` // normalised
	Dflt    bool             `json:",omitzero"`
	DfltPos pos              `json:",omitzero"`
	Cert    strPos           `json:",omitzero"`
	Key     KeyRef           `json:",omitzero"`
	Routes  []routeDecl      `json:",omitzero"`
	Redirs  []redirectDecl   `json:",omitzero"`
	Headers headersDecl      `json:",omitzero"`
	Pass    *passthroughDecl `json:",omitzero"` // nil for a site the edge terminates
	Pages   pagesDecl        `json:",omitzero"` // error_pages, maintenance, rewrites (extract_pages.go)
	Access  accessDecl       `json:",omitzero"` // IP rule, forbidden paths, rate limit
	// ClientAuth is the site's client_auth; nil when it has none.
	ClientAuth *clientAuthDecl `json:",omitzero"`
	Issuer     strPos          `json:",omitzero"` // tls.issuer: the site's certificate is issued; empty: Cert and Key
}

// passthroughDecl is a passthrough site's declaration: TCP upstreams and their options.
type passthroughDecl struct {
	P             pos               `json:",omitzero"`
	Upstreams     []strPos          `json:",omitzero"` // "host:port" as written
	Balance       string            `json:",omitzero"`
	ProxyProtocol bool              `json:",omitzero"`
	Timeouts      timeoutsDecl      `json:",omitzero"` // Connect and Idle only
	Health        *site.HealthCheck `json:",omitzero"`
}

type routeDecl struct {
	Path      strPos            `json:",omitzero"`
	Upstreams []strPos          `json:",omitzero"`
	Balance   string            `json:",omitzero"`
	Strip     bool              `json:",omitzero"`
	Timeouts  timeoutsDecl      `json:",omitzero"`
	Retries   int               `json:",omitzero"`
	Health    *site.HealthCheck `json:",omitzero"`
	Enc       encodeDecl        `json:",omitzero"` // compress, cache_control, cors
	Access    accessDecl        `json:",omitzero"` // IP rule, rate limit
	Static    *staticDecl       `json:",omitzero"` // nil for a proxied route
	// BasicAuth and ForwardAuth are the route's authentication (shared, never changed).
	BasicAuth   *site.BasicAuth   `json:",omitzero"`
	ForwardAuth *site.ForwardAuth `json:",omitzero"`
	Weights     []int             `json:",omitzero"` // nil: every weight 1
	Sticky      *site.Sticky      `json:",omitzero"` // nil: no affinity
}

// timeoutsDecl holds the timeouts a file sets; nil means unset (inherit).
type timeoutsDecl struct {
	Connect, Response, Idle, Body *time.Duration `json:",omitzero"`
}

type redirectDecl struct {
	P        pos      `json:",omitzero"`
	To       strPos   `json:",omitzero"`
	Hosts    []strPos `json:",omitzero"` // normalised; empty means all of the site's hosts
	Path     string   `json:",omitzero"`
	Status   int      `json:",omitzero"`
	KeepPath bool     `json:",omitzero"`
}

// hstsDecl is an HSTS setting: unset inherits the repo's, off disables, else the fields set.
type hstsDecl struct {
	P       pos            `json:",omitzero"`
	Set     bool           `json:",omitzero"`
	Off     bool           `json:",omitzero"`
	MaxAge  *time.Duration `json:",omitzero"`
	Subdoms *bool          `json:",omitzero"`
	Preload *bool          `json:",omitzero"`
}

type headersDecl struct {
	HSTS   hstsDecl          `json:",omitzero"`
	Set    map[string]string `json:",omitzero"`
	Remove []string          `json:",omitzero"`
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
