package schema

import "time"

// pos is a 1-based line and column in a file; zero means the file as a whole.
type pos struct{ line, col int }

// strPos is a string value and where it is written.
type strPos struct {
	s string
	p pos
}

// siteDecl is what one site file declares, before the repo's defaults are applied. It is
// derived only from the file's content, so it is cached by content hash.
type siteDecl struct {
	name    string
	file    string
	namePos pos      // the site's label
	hosts   []strPos // normalised
	dflt    bool
	dfltPos pos
	cert    strPos
	key     KeyRef
	routes  []routeDecl
	redirs  []redirectDecl
	headers headersDecl
}

type routeDecl struct {
	path      strPos
	upstreams []strPos
	balance   string
	strip     bool
	timeouts  timeoutsDecl
	retries   int
	health    *HealthCheck
}

// timeoutsDecl holds the timeouts a file sets; nil means unset (inherit).
type timeoutsDecl struct {
	connect, response, idle *time.Duration
}

type redirectDecl struct {
	p        pos
	to       strPos
	hosts    []strPos // normalised; empty means all of the site's hosts
	path     string
	status   int
	keepPath bool
}

// hstsDecl is an HSTS setting: unset inherits the repo's, off disables, else the fields set.
type hstsDecl struct {
	p       pos
	set     bool
	off     bool
	maxAge  *time.Duration
	subdoms *bool
	preload *bool
}

type headersDecl struct {
	hsts   hstsDecl
	set    map[string]string
	remove []string
}

// repoDecl is what the repo-level file edge.cue declares.
type repoDecl struct {
	hsts          hstsDecl
	timeouts      timeoutsDecl
	allowed       []strPos
	warnWithin    *time.Duration
	errorWithin   *time.Duration
	allowOverlap  bool
	allowedParsed []allowEntry
}
