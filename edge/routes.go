package edge

import (
	"net/http"
	"sort"
	"strings"

	"github.com/edgectl/edge/edge/proxy"

	"github.com/edgectl/edge/edge/site"
)

// routeEntry is one route of a site with the handler that serves it.
type routeEntry struct {
	path    string
	route   *site.Route
	handler http.Handler
}

// redirectEntry is one redirect of a site, prepared.
type redirectEntry struct {
	path     string
	hosts    []string // patterns; empty means every host of the site
	to       string   // without a trailing slash when KeepPath
	status   int
	keepPath bool
}

// pathMatches reports whether the request path p (cleaned) is under prefix, segment-aware:
// "/api" matches "/api" and "/api/x" but not "/apix"; "/api/" matches "/api/" and "/api/x";
// "/" matches everything.
func pathMatches(prefix, p string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || prefix[len(prefix)-1] == '/' || p[len(prefix)] == '/'
}

// sortByPathLength orders entries longest path first, keeping the declared order among
// paths of equal length, so the first match is the longest prefix.
func sortByPathLength[T any](s []T, pathOf func(*T) string) {
	sort.SliceStable(s, func(i, j int) bool { return len(pathOf(&s[i])) > len(pathOf(&s[j])) })
}

// matchRoute returns the route with the longest prefix of p, or nil. Its cost depends on
// the routes of one site only.
func matchRoute(routes []routeEntry, p string) *routeEntry {
	for i := range routes {
		if pathMatches(routes[i].path, p) {
			return &routes[i]
		}
	}
	return nil
}

// matchRedirect returns the redirect with the longest prefix of p that applies to host, or
// nil.
func matchRedirect(redirects []redirectEntry, host, p string) *redirectEntry {
	for i := range redirects {
		rd := &redirects[i]
		if !pathMatches(rd.path, p) {
			continue
		}
		if len(rd.hosts) == 0 {
			return rd
		}
		for _, h := range rd.hosts {
			if h == host || (isWildcard(h) && coveredByWildcard(h, host)) {
				return rd
			}
		}
	}
	return nil
}

// coveredByWildcard reports whether the pattern "*.parent" covers host (one label).
func coveredByWildcard(pattern, host string) bool {
	i := strings.IndexByte(host, '.')
	return i > 0 && validLabel(host[:i]) && host[i+1:] == pattern[2:]
}

// location returns the Location of a redirect for a request with the given path and query.
func (rd *redirectEntry) location(r *http.Request) string {
	if !rd.keepPath {
		return rd.to
	}
	return rd.to + r.URL.RequestURI()
}

// cleanPath returns the request path used for matching: proxy.CleanPath, which is also
// the path the proxy forwards, so what is routed is what the upstream gets.
func cleanPath(p string) string { return proxy.CleanPath(p) }
