package edge

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// xffBackend answers every request with the X-Forwarded-For it got.
func xffBackend(t testing.TB) *url.URL {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Header.Get("X-Forwarded-For")))
	}))
	t.Cleanup(srv.Close)
	return mustURL(srv.URL)
}

// clientFrom returns a client of srv whose connections come from the loopback address
// local (any of 127/8 on Linux).
func clientFrom(t testing.TB, srv *Server, local string) *http.Client {
	c := httpClient(t, srv.Addr(), false)
	tr := c.Transport.(*http.Transport)
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		return d.DialContext(ctx, network, srv.Addr().String())
	}
	return c
}

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// Site and route IP rules: deny wins, a non-empty allow list must match, the route's rule
// applies after the site's; denials are 403 and counted.
func TestAccessIPRules(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{})
	st := testSite(t, "ipsite", "ip.test")
	up := xffBackend(t)
	st.Access = &site.Access{Deny: prefixes("127.0.0.2/32")}
	st.Routes = []site.Route{
		{Path: "/", Upstreams: []*url.URL{up}},
		{Path: "/admin", Upstreams: []*url.URL{up}, Access: &site.Access{Allow: prefixes("127.0.0.3/32", "::ffff:127.0.0.4/128")}},
	}
	publish(t, srv, 1, st)
	for _, tc := range []struct {
		from, path string
		want       int
	}{
		{"127.0.0.1", "/", 200}, {"127.0.0.1", "/admin", 403},
		{"127.0.0.2", "/", 403}, {"127.0.0.2", "/admin", 403},
		{"127.0.0.3", "/", 200}, {"127.0.0.3", "/admin/x", 200},
		{"127.0.0.4", "/admin", 200},
	} {
		code, body, _ := get(t, clientFrom(t, srv, tc.from), "https://ip.test"+tc.path)
		if code != tc.want {
			t.Errorf("%s %s: %d %q; want %d", tc.from, tc.path, code, body, tc.want)
		}
		if code == 200 && body != tc.from {
			t.Errorf("%s %s: X-Forwarded-For %q; want the client", tc.from, tc.path, body)
		}
	}
	if n := testutil.ToFloat64(srv.metrics.access.denied.WithLabelValues("ipsite", DenyIP)); n != 3 {
		t.Errorf("denied{ip} = %v; want 3", n)
	}
}

// Forbidden paths are matched on the cleaned, decoded path, ignoring case: 404 before any
// route, counted.
func TestAccessForbiddenPaths(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{})
	st := testSite(t, "fp", "fp.test")
	st.Routes[0].Upstreams = []*url.URL{xffBackend(t)}
	st.ForbiddenPaths = []string{"/.git/*", "*.bak", "/private/*/keys"}
	publish(t, srv, 1, st)
	c := httpClient(t, srv.Addr(), false)
	denied := []string{"/.git", "/.git/", "/.git/config", "/%2egit/config", "/%2Egit%2Fconfig", "/a/../.git/HEAD",
		"/./.git/HEAD", "/.GIT/config", "/x.bak", "/dir/x.BAK", "/%78.bak", "/private/a/b/keys"}
	for _, p := range denied {
		if code, _, _ := get(t, c, "https://fp.test"+p); code != 404 {
			t.Errorf("%s: %d; want 404", p, code)
		}
	}
	for _, p := range []string{"/", "/.github/x", "/.gitignore", "/x.bak.txt", "/private/keys", "/git/config"} {
		if code, _, _ := get(t, c, "https://fp.test"+p); code != 200 {
			t.Errorf("%s: %d; want 200", p, code)
		}
	}
	if n := testutil.ToFloat64(srv.metrics.access.denied.WithLabelValues("fp", DenyForbiddenPath)); n != float64(len(denied)) {
		t.Errorf("denied{forbidden_path} = %v; want %d", n, len(denied))
	}
}

// A rewrite cannot lead a request around the forbidden paths: the rewritten path is checked
// too, and the app never sees it.
func TestForbiddenPathsAfterRewrite(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{})
	st := testSite(t, "fr", "fr.test")
	st.Routes[0].Upstreams = []*url.URL{xffBackend(t)}
	st.ForbiddenPaths = []string{"/static/.git/*"}
	st.Rewrites = []site.Rewrite{{From: "/files/{rest...}", To: "/static/{rest}"}}
	publish(t, srv, 1, st)
	c := httpClient(t, srv.Addr(), false)
	for p, want := range map[string]int{"/files/.git/config": 404, "/static/.git/config": 404, "/files/a.css": 200} {
		if code, _, _ := get(t, c, "https://fr.test"+p); code != want {
			t.Errorf("%s: %d; want %d", p, code, want)
		}
	}
}

// A site's rate limit lets a burst through, then answers 429 with Retry-After; another
// client has its own bucket; a route's header-keyed limit counts per header value.
func TestAccessRateLimit(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{})
	st := testSite(t, "rl", "rl.test")
	up := xffBackend(t)
	st.RateLimit = &site.RateLimit{Requests: 1, Per: time.Hour, Burst: 3}
	st.Routes = []site.Route{
		{Path: "/", Upstreams: []*url.URL{up}},
		{Path: "/api", Upstreams: []*url.URL{up}, RateLimit: &site.RateLimit{Requests: 1, Per: time.Hour, Burst: 1, Header: "x-api-key"}},
	}
	publish(t, srv, 1, st)
	c1, c2 := clientFrom(t, srv, "127.0.0.1"), clientFrom(t, srv, "127.0.0.2")
	for i := range 3 {
		if code, _, _ := get(t, c1, "https://rl.test/"); code != 200 {
			t.Fatalf("request %d within the burst: %d", i+1, code)
		}
	}
	code, _, resp := get(t, c1, "https://rl.test/")
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if code != 429 || ra < 3000 || ra > 3600 {
		t.Errorf("past the burst: %d, Retry-After %q; want 429 and about an hour", code, resp.Header.Get("Retry-After"))
	}
	if code, _, _ := get(t, c2, "https://rl.test/api", "X-Api-Key", "a"); code != 200 {
		t.Errorf("another client, key a: %d", code)
	}
	if code, _, _ := get(t, c2, "https://rl.test/api", "X-Api-Key", "a"); code != 429 {
		t.Errorf("key a again: %d; want 429", code)
	}
	if code, _, _ := get(t, c2, "https://rl.test/api", "X-Api-Key", "b"); code != 200 {
		t.Errorf("key b: %d", code)
	}
	if n := testutil.ToFloat64(srv.metrics.access.denied.WithLabelValues("rl", DenyRateLimit)); n != 2 {
		t.Errorf("denied{rate_limit} = %v; want 2", n)
	}
}

// An address-spraying client fills the table up to its bound and no further; IPv6
// addresses of one /64 share a bucket.
func TestRateLimiterBounded(t *testing.T) {
	t.Parallel()
	l := newRateLimiter(&site.RateLimit{Requests: 1, Per: time.Hour, MaxClients: 1000})
	now := time.Now()
	r := httptest.NewRequest("GET", "/", nil)
	for i := range 100_000 {
		var b [16]byte
		b[0], b[1], b[4], b[5], b[6], b[7] = 0x20, 0x01, byte(i>>16), byte(i>>8), byte(i), 1
		l.allow(l.key(r, netip.AddrFrom16(b)), now)
	}
	if n := l.size(); n > 1000 || n < 900 {
		t.Errorf("table holds %d buckets after 100,000 /64s; want at most 1000 (and near it)", n)
	}
	a, b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	if ok, _ := l.allow(l.key(r, a), now); !ok {
		t.Fatal("first request refused")
	}
	if ok, wait := l.allow(l.key(r, b), now); ok || wait <= 0 {
		t.Errorf("same /64: allowed %v, wait %v; want refused", ok, wait)
	}
	v4a, v4b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	l.allow(l.key(r, v4a), now)
	if ok, _ := l.allow(l.key(r, v4b), now); !ok {
		t.Error("another IPv4 address shares a bucket")
	}
	if ok, _ := l.allow(l.key(r, v4a), now.Add(time.Hour)); !ok {
		t.Error("no token an hour later")
	}
}

func TestIPRule(t *testing.T) {
	t.Parallel()
	r := newIPRule(&site.Access{Allow: prefixes("10.0.0.0/8", "2001:db8::/32", "::ffff:192.0.2.0/120"), Deny: prefixes("10.1.0.0/16", "2001:db8:bad::/48")})
	for a, want := range map[string]bool{
		"10.2.3.4": true, "10.1.2.3": false, "11.0.0.1": false, "192.0.2.77": true, "::ffff:10.2.3.4": true,
		"2001:db8::1": true, "2001:db8:bad::1": false, "2001:db9::1": false, "::ffff:10.1.0.1": false,
	} {
		if got := r.permits(netip.MustParseAddr(a).Unmap()); got != want {
			t.Errorf("%s: permits %v; want %v", a, got, want)
		}
	}
	if r.permits(netip.Addr{}) {
		t.Error("an unreadable address passes")
	}
	if newIPRule(&site.Access{}) != nil || !(*ipRule)(nil).permits(netip.Addr{}) {
		t.Error("an empty rule is not a nil rule letting everything through")
	}
}

func TestClientIPTrustedProxies(t *testing.T) {
	t.Parallel()
	trusted := prefixes("10.0.0.0/8")
	for _, tc := range []struct{ remote, xff, want string }{
		{"192.0.2.1:5", "203.0.113.9", "192.0.2.1"},            // untrusted peer: its header is ignored
		{"10.0.0.1:5", "203.0.113.9, 10.0.0.2", "203.0.113.9"}, // through two trusted hops
		{"10.0.0.1:5", "1.1.1.1, 203.0.113.9", "203.0.113.9"},  // the client cannot push an address in front
		{"10.0.0.1:5", "", "10.0.0.1"},
		{"10.0.0.1:5", "junk", "10.0.0.1"},
		{"[::ffff:192.0.2.1]:5", "", "192.0.2.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := clientIP(r, trusted); got.String() != tc.want {
			t.Errorf("%s with %q: %s; want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func TestForbiddenPatterns(t *testing.T) {
	t.Parallel()
	ps := newPathPatterns([]string{"/.git/*", "*.bak", "/a*b*c", "/exact", "*/.svn/*"})
	for p, want := range map[string]bool{
		"/.git": true, "/.git/x": true, "/.gitx": false, "/x.bak": true, "/x.bak/y": false, "/abc": true,
		"/a/b/c": true, "/acb": false, "/exact": true, "/exact/": false, "/EXACT": true, "/x/.svn/entries": true, "/.svn": true, "/x.svn": false,
	} {
		if got := ps.match(p); got != want {
			t.Errorf("%s: %v; want %v", p, got, want)
		}
	}
	for _, bad := range []string{"", "x", "/a b", "/\x00", "/" + strings.Repeat("a", site.MaxForbiddenPath)} {
		if site.CheckForbiddenPath(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzForbiddenMatch: the matcher agrees with a regular expression made of the pattern
// ("*" is ".*", case ignored, "/*" at the end optional) on every path.
func FuzzForbiddenMatch(f *testing.F) {
	f.Add("/.git/*", "/.git/config")
	f.Add("*.bak", "/a/b.BAK")
	f.Add("/a*b*c", "/aXbYbc")
	f.Add("*/x*", "/x/x")
	f.Fuzz(func(t *testing.T, pattern, p string) {
		if site.CheckForbiddenPath(pattern) != nil || len(p) > 512 {
			return
		}
		var re strings.Builder
		re.WriteString("(?s)^")
		body, dir := pattern, false
		if b, ok := strings.CutSuffix(pattern, "/*"); ok && b != "" && !strings.HasSuffix(b, "*") {
			body, dir = b, true
		}
		for i, part := range strings.Split(body, "*") {
			if i > 0 {
				re.WriteString(".*")
			}
			re.WriteString(regexp.QuoteMeta(lowerASCII(part)))
		}
		if dir {
			re.WriteString("(/.*)?")
		}
		re.WriteString("$")
		rx, err := regexp.Compile(re.String())
		if err != nil {
			t.Skip()
		}
		want := rx.MatchString(lowerASCII(p))
		if got := newPathPatterns([]string{pattern}).match(p); got != want {
			t.Fatalf("pattern %q, path %q: %v; the expression %s says %v", pattern, p, got, re.String(), want)
		}
	})
}

// Denials are answered with the site's error pages, from the site's steps and from a
// route's alike; a 429 keeps its Retry-After.
func TestAccessErrorPages(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{})
	st := testSite(t, "pg", "pg.test")
	up := xffBackend(t)
	page := func(s string) *site.Page { return &site.Page{File: s, ContentType: "text/plain", Body: []byte(s)} }
	st.ErrorPages = &site.ErrorPages{Status: map[int]*site.Page{403: page("no entry"), 429: page("slow down")}, Client: page("client error")}
	st.ForbiddenPaths = []string{"*.bak"}
	st.Routes = []site.Route{
		{Path: "/", Upstreams: []*url.URL{up}},
		{Path: "/admin", Upstreams: []*url.URL{up}, Access: &site.Access{Allow: prefixes("192.0.2.0/24")}},
		{Path: "/api", Upstreams: []*url.URL{up}, RateLimit: &site.RateLimit{Requests: 1, Per: time.Hour}},
	}
	publish(t, srv, 1, st)
	c := httpClient(t, srv.Addr(), false)
	get(t, c, "https://pg.test/api")
	for path, want := range map[string]string{"/admin": "no entry", "/x.bak": "client error", "/api": "slow down"} {
		code, body, resp := get(t, c, "https://pg.test"+path)
		if body != want || code < 400 || (code == 429) != (resp.Header.Get("Retry-After") != "") {
			t.Errorf("%s: %d %q (Retry-After %q); want the page %q", path, code, body, resp.Header.Get("Retry-After"), want)
		}
	}
}

// A route with an IP rule or a rate limit is a routeAccess around the proxy's handler,
// which proxyHandlers still finds (so the proxy keeps its upstream state); a route
// without either is the proxy's handler itself.
func TestRouteAccessUnwraps(t *testing.T) {
	t.Parallel()
	srv := NewServer(Options{Logger: quietLogger})
	st := testSite(t, "wr", "wr.test")
	st.Routes = append(st.Routes, site.Route{Path: "/a", Upstreams: st.Routes[0].Upstreams, RateLimit: &site.RateLimit{Requests: 1, Per: time.Second}})
	snap, err := srv.build(1, "rev", []*Site{st})
	if err != nil {
		t.Fatal(err)
	}
	e := snap.byName["wr"]
	var wrapped int
	for _, r := range e.routes {
		if _, ok := r.handler.(*routeAccess); ok {
			wrapped++
		}
	}
	if wrapped != 1 || len(proxyHandlers(snap)) != 2 {
		t.Errorf("%d routes wrapped, %d proxy handlers found; want 1 and 2", wrapped, len(proxyHandlers(snap)))
	}
}
