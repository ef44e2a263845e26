package schema

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/format"
)

// translateErrors turns CUE errors about file into diagnostics a person can act on: the
// position of the user's text (never the schema's), what is wrong and what would be right.
// idx may be nil (syntax errors). site names the site when err comes from unifying it with
// #Site (paths then start with "#Site").
func translateErrors(file string, err error, idx astIndex, site string) []Diagnostic {
	type group struct {
		path []string
		errs []errors.Error
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, e := range errors.Errors(err) {
		path := e.Path()
		if len(path) > 0 && path[0] == "#Site" && site != "" {
			path = append([]string{"sites", quoteKey(site)}, path[1:]...)
		}
		k := strings.Join(path, "\x00")
		g := byKey[k]
		if g == nil {
			g = &group{path: path}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.errs = append(g.errs, e)
	}
	var ds []Diagnostic
	seen := map[string]bool{}
	inner := ancestors(byKey)
	for _, g := range groups {
		if within(g.path, g.errs, inner) {
			continue
		}
		d := describeGroup(file, g.path, g.errs, idx)
		if k := d.String(); !seen[k] {
			seen[k] = true
			ds = append(ds, d)
		}
	}
	sortDiags(ds)
	return ds
}

// within reports whether the errors at path only say that its value matched no branch of
// a disjunction while a field inside it has errors of its own (inner holds the keys of
// every group's ancestors): for a struct written in place of a string (a weighted
// upstream), the field's error is the one to show.
func within(path []string, errs []errors.Error, inner map[string]bool) bool {
	if len(errs) == 0 || !inner[strings.Join(path, "\x00")] {
		return false
	}
	f, _ := errs[0].Msg()
	return isInvalidValue(f)
}

// ancestors returns the keys of every proper ancestor of the paths.
func ancestors[G any](byKey map[string]G) map[string]bool {
	out := map[string]bool{}
	for k := range byKey {
		for i := strings.LastIndexByte(k, 0); i > 0; i = strings.LastIndexByte(k[:i], 0) {
			out[k[:i]] = true
		}
	}
	return out
}

func sortDiags(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// describeGroup words the errors CUE reports for one path.
func describeGroup(file string, path []string, errs []errors.Error, idx astIndex) Diagnostic {
	d := Diagnostic{File: file, Severity: SeverityError}
	g := newErrorGroup(file, path, idx)
	p := g.position(errs)
	d.Line, d.Col = p.Line(), p.Column()
	if len(path) == 0 && len(errs) > 0 && errs[0].Position().Filename() == file {
		// syntax errors and the like have no path
		ep := errs[0].Position()
		d.Line, d.Col = ep.Line(), ep.Column()
	}
	first, format0, args := primaryError(errs)
	switch {
	case format0 == "field not allowed":
		d.Message = g.notAllowed(p)
	case format0 == "field is required but not present":
		d.Message = g.missingField()
		if lp, ok := g.missingFieldPos(); ok {
			d.Line, d.Col = lp.Line(), lp.Column()
		}
	case format0 == "reference %q not found":
		d.Message = g.unknownName(fmt.Sprint(args...))
	case format0 == "incompatible list lengths (%d and %d)":
		d.Message = g.withWant(fmt.Sprintf("%s is empty", g.shown))
	case g.want != "" && isInvalidValue(format0):
		d.Message = g.invalidValue()
	default:
		d.Message = g.verbatim(first)
	}
	return d
}

// displayPath shows a path as the user writes it inside a site: `routes."/api".upstreams[0]`.
func displayPath(path []string) string {
	if len(path) >= 2 && path[0] == "sites" {
		path = path[2:]
	}
	return pathKey(path)
}

// contextName names the struct at path for messages: `route "/api"`, `the site`, ...
func contextName(path []string) string {
	if len(path) <= 2 && len(path) > 0 && path[0] == "sites" {
		return "the site"
	}
	p := pattern(path)
	last := path[len(path)-1]
	switch {
	case strings.HasSuffix(p, "routes.*"):
		return "route " + last
	case strings.HasSuffix(p, "redirects.*"):
		return "redirects[" + last + "]"
	}
	return "`" + displayPath(path) + "`"
}

// pattern generalises a path: list indexes, route paths, header names and the site name
// become "*".
func pattern(path []string) string {
	out := make([]string, len(path))
	for i, e := range path {
		_, err := strconv.Atoi(e)
		switch {
		case err == nil && i > 0:
			out[i] = "*"
		case i == 1 && path[0] == "sites":
			out[i] = "*"
		case i > 0 && (path[i-1] == "routes" || path[i-1] == "set"):
			out[i] = "*"
		default:
			out[i] = e
		}
	}
	return strings.Join(out, ".")
}

// sourceText is the user's text for a value, on one line, shortened.
func sourceText(x ast.Expr) string {
	b, err := format.Node(x)
	if err != nil {
		return ""
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// closest returns the candidate nearest to s by edit distance, if it is near enough.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD || (d == bestD && best == "" && strings.HasPrefix(c, s)) {
			best, bestD = c, d
		}
	}
	if best == "" {
		for _, c := range candidates {
			if strings.HasPrefix(c, s) || strings.HasPrefix(s, c) {
				return c
			}
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

const (
	wantDuration = `a duration such as "5s", "1m30s" or "30d"`
	wantHost     = `a host name such as "example.com" or "*.example.com" (no scheme, port or path)`
	wantBool     = "true or false"
	wantPath     = `a path starting with "/", e.g. "/api"`
	wantNetwork  = `a CIDR network or an address, e.g. "10.0.0.0/8", "2001:db8::/32" or "192.0.2.7"`
	wantNetworks = `a list of CIDR networks or addresses, e.g. ["10.0.0.0/8", "2001:db8::/32"]`
)

// expectations say, per path pattern, what a valid value looks like.
var expectations = map[string]string{
	"sites":                                            "a struct of sites: `sites: NAME: {...}`",
	"sites.*":                                          "a struct such as {hosts: [...], cert: \"certs/x.pem\", key: path: \"edge/x\", routes: ...}",
	"sites.*.hosts":                                    `a non-empty list of host names, e.g. ["example.com", "*.example.com"]`,
	"sites.*.hosts.*":                                  wantHost,
	"sites.*.default":                                  wantBool,
	"sites.*.passthrough":                              `a struct such as {upstreams: ["127.0.0.1:8443"], proxy_protocol: true}`,
	"sites.*.passthrough.upstreams":                    `a non-empty list of TCP addresses, e.g. ["127.0.0.1:8443"]`,
	"sites.*.passthrough.upstreams.*":                  `a TCP address "host:port" such as "127.0.0.1:8443" or "[::1]:8443" (no scheme, no path)`,
	"sites.*.passthrough.balance":                      `"round_robin" or "least_conn"`,
	"sites.*.passthrough.proxy_protocol":               wantBool,
	"sites.*.passthrough.timeouts":                     `a struct such as {connect: "5s", idle: "1h"}`,
	"sites.*.passthrough.timeouts.connect":             wantDuration,
	"sites.*.passthrough.timeouts.idle":                wantDuration,
	"sites.*.passthrough.health_check":                 `a struct such as {interval: "10s", timeout: "2s"}`,
	"sites.*.passthrough.health_check.interval":        wantDuration,
	"sites.*.passthrough.health_check.timeout":         wantDuration,
	"sites.*.cert":                                     `the path of the PEM certificate chain from the repo root, e.g. "certs/example.pem" (no leading "/" or ".."); or, instead of cert and key, tls: {issuer: "<name>"} for an issued certificate`,
	"sites.*.key":                                      `where the private key is in Vault KV v2, e.g. key: path: "edge/example" (mount defaults to "secret", field to "key")`,
	"sites.*.key.mount":                                `the KV v2 mount, e.g. "secret"`,
	"sites.*.key.path":                                 `the secret's path below the mount, e.g. "edge/example" (no leading "/" or "..")`,
	"sites.*.key.field":                                `the secret's field holding the PEM key, e.g. "key"`,
	"sites.*.key.version":                              "a KV v2 version number from 1 to 2147483647 (leave it out for the latest)",
	"sites.*.routes":                                   `a struct of path prefix to route, e.g. routes: "/": upstreams: ["http://127.0.0.1:3001"]`,
	"sites.*.routes.*":                                 `a route such as {upstreams: ["http://127.0.0.1:3001"]}`,
	"sites.*.routes.*.upstreams":                       `a non-empty list of URLs, e.g. ["http://127.0.0.1:3001"]`,
	"sites.*.routes.*.upstreams.*":                     `an http:// or https:// URL such as "http://127.0.0.1:3001", or a weighted one such as {url: "http://127.0.0.1:3002", weight: 5}`,
	"sites.*.routes.*.balance":                         `"round_robin" or "least_conn"`,
	"sites.*.routes.*.strip_prefix":                    wantBool,
	"sites.*.routes.*.retries":                         "a whole number from 0 to 10",
	"sites.*.routes.*.timeouts":                        `a struct such as {connect: "5s", response: "60s", idle: "90s", body: "60s"}`,
	"sites.*.routes.*.timeouts.connect":                wantDuration,
	"sites.*.routes.*.timeouts.response":               wantDuration,
	"sites.*.routes.*.timeouts.idle":                   wantDuration,
	"sites.*.routes.*.timeouts.body":                   wantDuration,
	"sites.*.routes.*.health_check":                    `a struct such as {path: "/healthz", interval: "10s"}`,
	"sites.*.routes.*.health_check.path":               wantPath,
	"sites.*.routes.*.health_check.interval":           wantDuration,
	"sites.*.routes.*.health_check.timeout":            wantDuration,
	"sites.*.routes.*.health_check.expect_status":      "an HTTP status code from 100 to 599",
	"sites.*.routes.*.compress":                        wantCompress,
	"sites.*.routes.*.compress.types":                  wantTypes,
	"sites.*.routes.*.compress.types.*":                wantType,
	"sites.*.routes.*.compress.min_size":               wantMinSize,
	"sites.*.routes.*.compress.encodings":              wantEncodings,
	"sites.*.routes.*.compress.encodings.*":            wantEncoding,
	"sites.*.routes.*.cache_control":                   `a struct of path pattern to Cache-Control value, e.g. {"/assets/*": "public, max-age=31536000, immutable"}`,
	"sites.*.routes.*.cache_control.*":                 `a Cache-Control value such as "public, max-age=600"`,
	"sites.*.routes.*.cors":                            `a struct such as {origins: ["https://app.example.com"], methods: ["GET", "PUT"]}`,
	"sites.*.routes.*.cors.origins":                    `a non-empty list of origins, e.g. ["https://app.example.com", "https://*.example.com"]`,
	"sites.*.routes.*.cors.origins.*":                  `an origin such as "https://app.example.com", "https://*.example.com" or "*"`,
	"sites.*.routes.*.cors.methods":                    `a list of methods, e.g. ["GET", "PUT"]`,
	"sites.*.routes.*.cors.methods.*":                  `a method such as "PUT"`,
	"sites.*.routes.*.cors.headers":                    `a list of header names, e.g. ["Content-Type", "X-Token"], or ["*"]`,
	"sites.*.routes.*.cors.headers.*":                  `a header name such as "Content-Type"`,
	"sites.*.routes.*.cors.expose_headers":             `a list of header names, e.g. ["X-Request-Id"]`,
	"sites.*.routes.*.cors.expose_headers.*":           `a header name such as "X-Request-Id"`,
	"sites.*.routes.*.cors.credentials":                wantBool,
	"sites.*.routes.*.cors.max_age":                    wantDuration,
	"sites.*.redirects":                                `a list of redirects, e.g. [{to: "https://example.com"}]`,
	"sites.*.redirects.*":                              `a redirect such as {to: "https://example.com"}`,
	"sites.*.redirects.*.to":                           `an http:// or https:// URL such as "https://example.com"`,
	"sites.*.redirects.*.hosts":                        "a list of some of the site's hosts",
	"sites.*.redirects.*.hosts.*":                      wantHost,
	"sites.*.redirects.*.path":                         wantPath,
	"sites.*.redirects.*.status":                       "301 or 308 (permanent), 302 or 307 (temporary)",
	"sites.*.redirects.*.keep_path":                    wantBool,
	"sites.*.headers":                                  `a struct such as {hsts: true, set: {"X-Frame-Options": "DENY"}, remove: ["Server"]}`,
	"sites.*.headers.hsts":                             `true, false, or {max_age: "365d", include_subdomains: true, preload: false}`,
	"sites.*.headers.hsts.max_age":                     wantDuration,
	"sites.*.headers.hsts.include_subdomains":          wantBool,
	"sites.*.headers.hsts.preload":                     wantBool,
	"sites.*.headers.set":                              `a struct of header name to value, e.g. {"X-Frame-Options": "DENY"}`,
	"sites.*.headers.set.*":                            "a string",
	"sites.*.headers.remove":                           `a list of header names, e.g. ["Server", "X-Powered-By"]`,
	"sites.*.headers.remove.*":                         `a header name such as "Server"`,
	"defaults":                                         `a struct such as {hsts: true, timeouts: {connect: "5s"}}`,
	"defaults.hsts":                                    `true, false, or {max_age: "365d", include_subdomains: true, preload: false}`,
	"defaults.hsts.max_age":                            wantDuration,
	"defaults.hsts.include_subdomains":                 wantBool,
	"defaults.hsts.preload":                            wantBool,
	"defaults.timeouts":                                `a struct such as {connect: "5s", response: "60s", idle: "90s", body: "60s"}`,
	"defaults.timeouts.connect":                        wantDuration,
	"defaults.timeouts.response":                       wantDuration,
	"defaults.timeouts.idle":                           wantDuration,
	"defaults.timeouts.body":                           wantDuration,
	"defaults.compress":                                wantCompress,
	"defaults.compress.types":                          wantTypes,
	"defaults.compress.types.*":                        wantType,
	"defaults.compress.min_size":                       wantMinSize,
	"defaults.compress.encodings":                      wantEncodings,
	"defaults.compress.encodings.*":                    wantEncoding,
	"policy":                                           `a struct such as {allowed_upstreams: ["127.0.0.0/8"], cert_warn_within: "30d"}`,
	"policy.allowed_upstreams":                         `a list of CIDR networks, addresses or host names, e.g. ["127.0.0.0/8", "10.0.0.0/8", "app.internal"]`,
	"policy.allowed_upstreams.*":                       `a CIDR network, address or host name such as "10.0.0.0/8"`,
	"policy.cert_warn_within":                          wantDuration,
	"policy.cert_error_within":                         wantDuration,
	"policy.allow_wildcard_overlap":                    wantBool,
	"sites.*.error_pages":                              `a struct such as {"404": "pages/404.html", "5xx": "pages/5xx.html", upstream: true}`,
	"sites.*.error_pages.*":                            `a page file of the repo such as "pages/404.html"`,
	"sites.*.error_pages.upstream":                     wantBool,
	"sites.*.maintenance":                              `true, false, or {retry_after: "10m", page: "pages/maintenance.html"}`,
	"sites.*.maintenance.enabled":                      wantBool,
	"sites.*.maintenance.retry_after":                  wantDuration,
	"sites.*.maintenance.page":                         `a page file of the repo such as "pages/maintenance.html"`,
	"sites.*.rewrites":                                 `a list of rewrites, e.g. [{from: "/blog/{year}/{slug}", to: "/posts/{slug}?y={year}"}]`,
	"sites.*.rewrites.*":                               `a rewrite such as {from: "/blog/{slug}", to: "/posts/{slug}"}`,
	"sites.*.rewrites.*.from":                          `a path pattern starting with "/", e.g. "/blog/{year}/{slug}"`,
	"sites.*.rewrites.*.to":                            `a path starting with "/", e.g. "/posts/{slug}?y={year}"`,
	"sites.*.access":                                   `an IP rule such as {allow: ["10.0.0.0/8"], deny: ["10.66.0.0/16"]}`,
	"sites.*.access.allow":                             wantNetworks,
	"sites.*.access.allow.*":                           wantNetwork,
	"sites.*.access.deny":                              wantNetworks,
	"sites.*.access.deny.*":                            wantNetwork,
	"sites.*.rate_limit":                               `a rate limit such as {requests: 100, burst: 200} or {requests: 10, per: "1m", header: "X-Api-Key"}`,
	"sites.*.rate_limit.requests":                      "a whole number from 1 to 1000000000",
	"sites.*.rate_limit.per":                           wantDuration,
	"sites.*.rate_limit.burst":                         "a whole number from 1 to 1000000000",
	"sites.*.rate_limit.header":                        `a header name such as "X-Api-Key"`,
	"sites.*.rate_limit.ipv4_prefix":                   "a prefix length from 1 to 32",
	"sites.*.rate_limit.ipv6_prefix":                   "a prefix length from 1 to 128",
	"sites.*.rate_limit.max_clients":                   "a whole number from 1 to 10000000",
	"sites.*.routes.*.access":                          `an IP rule such as {allow: ["10.0.0.0/8"], deny: ["10.66.0.0/16"]}`,
	"sites.*.routes.*.access.allow":                    wantNetworks,
	"sites.*.routes.*.access.allow.*":                  wantNetwork,
	"sites.*.routes.*.access.deny":                     wantNetworks,
	"sites.*.routes.*.access.deny.*":                   wantNetwork,
	"sites.*.routes.*.rate_limit":                      `a rate limit such as {requests: 100, burst: 200} or {requests: 10, per: "1m", header: "X-Api-Key"}`,
	"sites.*.routes.*.rate_limit.requests":             "a whole number from 1 to 1000000000",
	"sites.*.routes.*.rate_limit.per":                  wantDuration,
	"sites.*.routes.*.rate_limit.burst":                "a whole number from 1 to 1000000000",
	"sites.*.routes.*.rate_limit.header":               `a header name such as "X-Api-Key"`,
	"sites.*.routes.*.rate_limit.ipv4_prefix":          "a prefix length from 1 to 32",
	"sites.*.routes.*.rate_limit.ipv6_prefix":          "a prefix length from 1 to 128",
	"sites.*.routes.*.rate_limit.max_clients":          "a whole number from 1 to 10000000",
	"sites.*.forbidden_paths":                          `a list of path patterns, e.g. ["/.git/*", "*.bak"]`,
	"sites.*.forbidden_paths.*":                        `a path pattern starting with "/" or "*", e.g. "/.git/*" or "*.bak"`,
	"sites.*.routes.*.basic_auth":                      `a struct such as {realm: "staging", users: path: "edge/auth/staging"}`,
	"sites.*.routes.*.basic_auth.realm":                `a realm of 1 to 64 printable ASCII characters without '"' or '\', e.g. "staging"`,
	"sites.*.routes.*.basic_auth.users":                `where the users are in Vault KV v2, e.g. users: path: "edge/auth/staging" (mount defaults to "secret")`,
	"sites.*.routes.*.basic_auth.users.mount":          `the KV v2 mount, e.g. "secret"`,
	"sites.*.routes.*.basic_auth.users.path":           `the secret's path below the mount, e.g. "edge/auth/staging" (no leading "/" or "..")`,
	"sites.*.routes.*.forward_auth":                    `a struct such as {url: "http://127.0.0.1:4181/auth", response_headers: ["X-Auth-User"]}`,
	"sites.*.routes.*.forward_auth.url":                `an http:// or https:// URL such as "http://127.0.0.1:4181/auth"`,
	"sites.*.routes.*.forward_auth.request_headers":    `a list of header names, e.g. ["Authorization", "Cookie"]`,
	"sites.*.routes.*.forward_auth.request_headers.*":  `a header name such as "Cookie"`,
	"sites.*.routes.*.forward_auth.response_headers":   `a list of header names, e.g. ["X-Auth-User"]`,
	"sites.*.routes.*.forward_auth.response_headers.*": `a header name such as "X-Auth-User"`,
	"sites.*.routes.*.forward_auth.timeout":            wantDuration,
	"sites.*.client_auth":                              `a struct such as {ca: "certs/clients-ca.pem", mode: "require"}`,
	"sites.*.client_auth.ca":                           `the path of the PEM bundle of CA certificates from the repo root, e.g. "certs/clients-ca.pem" (no leading "/" or "..")`,
	"sites.*.client_auth.mode":                         `"require" or "optional"`,
	"sites.*.routes.*.upstreams.*.url":                 `an http:// or https:// URL such as "http://127.0.0.1:3001"`,
	"sites.*.routes.*.upstreams.*.weight":              "a whole number from 1 to 1000",
	"sites.*.routes.*.sticky":                          `a struct such as {cookie: "edge_srv", max_age: "1h"}`,
	"sites.*.routes.*.sticky.cookie":                   `a cookie name such as "edge_srv" (letters, digits and !#$%&'*+-.^_|~)`,
	"sites.*.routes.*.sticky.path":                     wantPath,
	"sites.*.routes.*.sticky.max_age":                  wantDuration,
	"sites.*.routes.*.sticky.same_site":                `"lax", "strict" or "none"`,
	"sites.*.routes.*.sticky.http_only":                wantBool,
	"sites.*.tls":                                      `a struct such as {issuer: "letsencrypt"}`,
	"sites.*.tls.issuer":                               `the name of an issuer declared in edge.cue, e.g. "letsencrypt"`,
	"issuers.*":                                        `{acme: {directory: "https://...", email: "ops@example.com"}} or {vault_pki: {mount: "pki", role: "edge"}}`,
	"issuers.*.acme.directory":                         `an https:// ACME directory URL`,
	"issuers.*.acme.key_type":                          `"ecdsa-p256", "ecdsa-p384", "rsa2048" or "rsa4096"`,
	"issuers.*.acme.challenges":                        `a non-empty list of "http-01", "tls-alpn-01", "dns-01"`,
	"issuers.*.acme.challenges.*":                      `"http-01", "tls-alpn-01" or "dns-01"`,
	"issuers.*.vault_pki.key_type":                     `"ecdsa-p256", "ecdsa-p384", "rsa2048" or "rsa4096"`,
	"sites.*.routes.*.static":                          `a struct such as {repo_dir: "www/example"}, {dir: "/var/www/example"} or {git: {url: "https://git.example/site.git", commit: "<40 hex>"}}`,
	"sites.*.routes.*.static.repo_dir":                 `a directory of the config repo, e.g. "www/example" (no leading "/" or "..")`,
	"sites.*.routes.*.static.dir":                      `an absolute directory of the edge server, e.g. "/var/www/example"`,
	"sites.*.routes.*.static.git":                      `a struct such as {url: "https://git.example/site.git", commit: "<40 hex>", path: "public"}`,
	"sites.*.routes.*.static.git.url":                  `a git URL such as "https://git.example/site.git"`,
	"sites.*.routes.*.static.git.commit":               "a full commit hash: 40 lower-case hex digits",
	"sites.*.routes.*.static.git.path":                 `a directory of the content repository, e.g. "public" (no leading "/" or "..")`,
	"sites.*.routes.*.static.index":                    `a list of file names, e.g. ["index.html"]`,
	"sites.*.routes.*.static.index.*":                  `a file name such as "index.html" (no "/")`,
	"sites.*.routes.*.static.spa":                      wantBool,
	"sites.*.routes.*.static.browse":                   wantBool,
	"sites.*.routes.*.static.precompressed":            wantBool,
}

// What compress fields expect, in routes and in defaults.
const (
	wantCompress  = `true, false, or {types: ["text/*", "application/json"], min_size: 1024, encodings: ["zstd", "br", "gzip"]}`
	wantTypes     = `a list of media types, e.g. ["text/*", "application/json", "application/*+json"]`
	wantType      = `a media type such as "text/*" or "application/json"`
	wantMinSize   = "a number of bytes from 0 to 65536"
	wantEncodings = `a list of encodings, e.g. ["zstd", "br", "gzip"]`
	wantEncoding  = `"zstd", "br" or "gzip"`
)

// knownFields lists the fields each struct may have, for "did you mean" messages.
var knownFields = map[string][]string{
	"sites.*":                           {"hosts", "default", "passthrough", "cert", "key", "routes", "redirects", "headers", "error_pages", "maintenance", "rewrites", "access", "forbidden_paths", "rate_limit", "client_auth", "tls"},
	"sites.*.maintenance":               {"enabled", "retry_after", "page"},
	"sites.*.rewrites.*":                {"from", "to"},
	"sites.*.access":                    {"allow", "deny"},
	"sites.*.rate_limit":                {"requests", "per", "burst", "header", "ipv4_prefix", "ipv6_prefix", "max_clients"},
	"sites.*.routes.*.access":           {"allow", "deny"},
	"sites.*.routes.*.rate_limit":       {"requests", "per", "burst", "header", "ipv4_prefix", "ipv6_prefix", "max_clients"},
	"sites.*.passthrough":               {"upstreams", "balance", "proxy_protocol", "timeouts", "health_check"},
	"sites.*.passthrough.timeouts":      {"connect", "idle"},
	"sites.*.passthrough.health_check":  {"interval", "timeout"},
	"sites.*.key":                       {"mount", "path", "field", "version"},
	"sites.*.routes.*":                  {"upstreams", "balance", "strip_prefix", "timeouts", "retries", "health_check", "compress", "cache_control", "cors", "access", "rate_limit", "basic_auth", "forward_auth", "sticky", "static"},
	"sites.*.routes.*.compress":         {"types", "min_size", "encodings"},
	"sites.*.routes.*.cors":             {"origins", "methods", "headers", "expose_headers", "credentials", "max_age"},
	"sites.*.routes.*.timeouts":         {"connect", "response", "idle", "body"},
	"sites.*.routes.*.health_check":     {"path", "interval", "timeout", "expect_status"},
	"sites.*.redirects.*":               {"to", "hosts", "path", "status", "keep_path"},
	"sites.*.headers":                   {"hsts", "set", "remove"},
	"sites.*.headers.hsts":              {"max_age", "include_subdomains", "preload"},
	"defaults":                          {"hsts", "timeouts", "compress"},
	"defaults.compress":                 {"types", "min_size", "encodings"},
	"defaults.hsts":                     {"max_age", "include_subdomains", "preload"},
	"defaults.timeouts":                 {"connect", "response", "idle", "body"},
	"policy":                            {"allowed_upstreams", "cert_warn_within", "cert_error_within", "allow_wildcard_overlap"},
	"sites.*.routes.*.basic_auth":       {"realm", "users"},
	"sites.*.routes.*.basic_auth.users": {"mount", "path"},
	"sites.*.routes.*.forward_auth":     {"url", "request_headers", "response_headers", "timeout"},
	"sites.*.client_auth":               {"ca", "mode"},
	"sites.*.routes.*.upstreams.*":      {"url", "weight"},
	"sites.*.routes.*.sticky":           {"cookie", "path", "max_age", "same_site", "http_only"},
	"sites.*.tls":                       {"issuer"},
	"issuers.*":                         {"acme", "vault_pki"},
	"issuers.*.acme":                    {"directory", "email", "eab", "preferred_chain", "key_type", "challenges", "dns01"},
	"issuers.*.acme.eab":                {"kid", "hmac"},
	"issuers.*.acme.dns01":              {"server", "zone", "tsig"},
	"issuers.*.acme.dns01.tsig":         {"name", "algorithm", "secret"},
	"issuers.*.vault_pki":               {"mount", "role", "ttl", "key_type"},
	"sites.*.routes.*.static":           {"repo_dir", "dir", "git", "index", "spa", "browse", "precompressed"},
	"sites.*.routes.*.static.git":       {"url", "commit", "path"},
}
