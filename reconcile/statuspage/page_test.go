package statuspage

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/edge/proxy"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/schema"
)

// The tests of this file drive the handler with a status value and edge counters made up
// in memory; tests/ui_browser_test.go drives the page of a real agent in a real browser.

var testNow = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// fixedStatus is a StatusSource returning one status.
type fixedStatus struct{ st reconcile.Status }

func (f *fixedStatus) Status() reconcile.Status { return f.st }

// fakeEdge is an Edge with made-up counters: site i of sitesOf got i requests, i%7 of
// them 5xx.
type fakeEdge struct {
	traffic map[string]edge.SiteTraffic
	routes  []edge.RouteHealth
}

func (f *fakeEdge) SiteTraffic(name string) edge.SiteTraffic { return f.traffic[name] }
func (f *fakeEdge) RouteHealth() []edge.RouteHealth          { return f.routes }

// sitesOf makes n serving sites site00000... with a certificate expiring i days from
// testNow (site 0 expired yesterday), and their traffic.
func sitesOf(n int) ([]reconcile.SiteStatus, *fakeEdge) {
	sites := make([]reconcile.SiteStatus, n)
	fe := &fakeEdge{traffic: map[string]edge.SiteTraffic{}}
	for i := range sites {
		name := fmt.Sprintf("site%05d", i)
		sites[i] = reconcile.SiteStatus{Name: name, File: "sites/" + name + ".cue", State: reconcile.SiteServing,
			Hosts: []string{name + ".example.test", "*." + name + ".example.test"}, Commit: "c0ffee",
			NotAfter: testNow.Add(time.Duration(i)*24*time.Hour - 12*time.Hour), KeyVersion: 1}
		fe.traffic[name] = edge.SiteTraffic{Requests: uint64(i), ServerErrors: uint64(i % 7)}
	}
	return sites, fe
}

func newTestPage(t testing.TB, st reconcile.Status, fe *fakeEdge, repoURL string) http.Handler {
	t.Helper()
	o := Options{Status: &fixedStatus{st}, RepoURL: repoURL, Now: func() time.Time { return testNow }}
	if fe != nil {
		o.Edge = fe
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// get answers path and returns status and body.
func get(t testing.TB, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func getSites(t *testing.T, h http.Handler, query string) sitePage {
	t.Helper()
	code, body := get(t, h, "/ui/api/sites?"+query)
	if code != 200 {
		t.Fatalf("sites?%s: %d %s", query, code, body)
	}
	var p sitePage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func names(p sitePage) []string {
	out := make([]string, len(p.Sites))
	for i, s := range p.Sites {
		out[i] = s.Name
	}
	return out
}

func TestSitesPaging(t *testing.T) {
	sites, fe := sitesOf(120)
	h := newTestPage(t, reconcile.Status{Sites: sites}, fe, "")
	for _, tc := range []struct {
		query              string
		offset, n          int
		first              string
		total, matched, lm int
	}{
		{query: "", offset: 0, n: 50, first: "site00000"},
		{query: "offset=100", offset: 100, n: 20, first: "site00100"},
		{query: "offset=1000", offset: 100, n: 20, first: "site00100"}, // past the end: last page
		{query: "offset=-5&limit=10", offset: 0, n: 10, first: "site00000"},
		{query: "limit=0", offset: 0, n: 50, first: "site00000"},
		{query: "limit=100000", offset: 0, n: 120, first: "site00000"}, // capped at maxLimit
		{query: "q=nomatch&offset=50", offset: 0, n: 0},
	} {
		p := getSites(t, h, tc.query)
		if p.Query.Offset != tc.offset || len(p.Sites) != tc.n || (tc.n > 0 && p.Sites[0].Name != tc.first) || p.Total != 120 {
			t.Errorf("%q: offset %d, %d rows from %v, total %d; want offset %d, %d rows from %s, total 120",
				tc.query, p.Query.Offset, len(p.Sites), names(p)[:min(1, len(p.Sites))], p.Total, tc.offset, tc.n, tc.first)
		}
		if p.Query.Limit > maxLimit {
			t.Errorf("%q: limit %d above %d", tc.query, p.Query.Limit, maxLimit)
		}
	}
	for _, bad := range []string{"offset=x", "limit=1e9", "sort=owner", "order=up", "state=happy", "expires=soon", "q=" + strings.Repeat("a", 300)} {
		if code, _ := get(t, h, "/ui/api/sites?"+bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d; want 400", bad, code)
		}
	}
}

func TestSitesFilter(t *testing.T) {
	sites, fe := sitesOf(120)
	sites[7].State, sites[7].Error = reconcile.SiteFailed, "key not read yet"
	sites[9].State = reconcile.SiteStale
	sites[30].Hosts = []string{"Shop.Example.COM"}
	h := newTestPage(t, reconcile.Status{Sites: sites}, fe, "")
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"q=site0011&limit=3", []string{"site00110", "site00111", "site00112"}},
		{"q=SITE00119", []string{"site00119"}},
		{"q=*.site00042.example", []string{"site00042"}}, // a host, not the name
		{"q=shop.example", []string{"site00030"}},        // case-insensitive on hosts
		{"state=failed", []string{"site00007"}},
		{"state=stale", []string{"site00009"}},
		{"expires=0", []string{"site00000"}},                           // expired
		{"expires=2", []string{"site00000", "site00001", "site00002"}}, // within 2 days
		{"q=site0000&state=serving&expires=8", []string{"site00000", "site00001", "site00002", "site00003", "site00004", "site00005", "site00006", "site00008"}},
	} {
		p := getSites(t, h, tc.query)
		if got := names(p); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: %v; want %v", tc.query, got, tc.want)
		}
		if tc.query == "state=failed" && (p.Matched != 1 || p.Sites[0].Error == "") {
			t.Errorf("failed site %+v; want its error", p.Sites)
		}
	}
}

func TestSitesSort(t *testing.T) {
	sites, fe := sitesOf(30)
	sites[12].State, sites[12].NotAfter = reconcile.SiteFailed, time.Time{}
	sites[20].State = reconcile.SiteStale
	h := newTestPage(t, reconcile.Status{Sites: sites}, fe, "")
	for _, tc := range []struct {
		query string
		want  string // the first rows
	}{
		{"sort=name&order=desc&limit=2", "site00029,site00028"},
		{"sort=state&limit=3", "site00012,site00020,site00000"},
		{"sort=expiry&limit=2", "site00000,site00001"},
		{"sort=expiry&order=desc&limit=2", "site00029,site00028"},
		{"sort=expiry&offset=28", "site00029,site00012"}, // no certificate: last
		{"sort=requests&limit=2", "site00029,site00028"}, // desc by default
		{"sort=requests&order=asc&limit=2", "site00000,site00001"},
		// 5xx rate: i%7/i; site 6 (6/6) tops, then 5/5, 4/4...
		{"sort=errors&limit=3", "site00006,site00005,site00004"},
	} {
		if got := strings.Join(names(getSites(t, h, tc.query)), ","); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %s; want it to begin %s", tc.query, got, tc.want)
		}
	}
	// The column headers of the first view: a click sorts by the column, busiest or most
	// failing first for the counters; on the sorted column it flips the order.
	_, body := get(t, h, "/ui/?sort=name")
	for _, want := range []string{`data-sort="name" href="?order=desc"`, `data-sort="state" href="?order=asc&amp;sort=state"`,
		`data-sort="requests" href="?order=desc&amp;sort=requests"`, `data-sort="errors" href="?order=desc&amp;sort=errors"`} {
		if !strings.Contains(body, want) {
			t.Errorf("first view lacks the header link %s", want)
		}
	}
	p := getSites(t, h, "q=site00013")
	if r := p.Sites[0]; r.Requests != 13 || r.Errors5xx != 6 || r.ErrorRate != 6.0/13 {
		t.Errorf("site00013 counters %+v; want 13 requests, 6 5xx", r)
	}
}

// hostileStatus has a rejected commit whose diagnostics, file names and site names carry
// markup, as a config repo may.
func hostileStatus() reconcile.Status {
	return reconcile.Status{
		Serving: reconcile.ServingStatus{Commit: "aaaa1111", Generation: 3, Since: testNow.Add(-time.Hour)},
		Rejected: &reconcile.RejectedStatus{Commit: "bbbb2222", At: testNow, Errors: schema.Diagnostics{
			{File: "sites/evil.cue", Line: 3, Col: 5, Severity: "error", Message: `upstream "<script>alert(1)</script>" is not a URL`},
			{File: `sites/"><img src=x onerror=alert(2)>.cue`, Line: 1, Col: 1, Severity: "error", Message: "a & b"},
		}},
		Sites: []reconcile.SiteStatus{{Name: "<b>bold</b>", File: `sites/x" onmouseover="alert(3).cue`, State: reconcile.SiteFailed,
			Hosts: []string{"x.example.test"}, Error: "<iframe src=javascript:alert(4)>"}},
		History: []reconcile.ReconcileRecord{{Commit: "bbbb2222", Outcome: reconcile.PollRejected, Start: testNow,
			Error: "sites/evil.cue:3:5: <script>alert(5)</script>"}},
	}
}

func TestPageEscapesHostileText(t *testing.T) {
	h := newTestPage(t, hostileStatus(), nil, "https://git.example/org/config/blob/{commit}/{file}#L{line}")
	code, body := get(t, h, "/ui/")
	if code != 200 {
		t.Fatalf("/ui/: %d", code)
	}
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>bold", "<iframe", `" onmouseover="`} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b&gt;bold&lt;/b&gt;", "a &amp; b",
		`href="https://git.example/org/config/blob/bbbb2222/sites/evil.cue#L3"`,
		// The hostile file name is path-escaped in the link and HTML-escaped in the text.
		`href="https://git.example/org/config/blob/bbbb2222/sites/%22%3E%3Cimg%20src=x%20onerror=alert%282%29%3E.cue#L1"`,
		`sites/&#34;&gt;&lt;img src=x onerror=alert(2)&gt;.cue:1:1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Count(body, "<script") != 1 || !strings.Contains(body, `<script src="/ui/app.js" defer></script>`) {
		t.Errorf("page has a script other than /ui/app.js")
	}
	_, js := get(t, h, "/ui/api/summary")
	if strings.Contains(js, "<script>") || !strings.Contains(js, `\u003cscript\u003ealert(1)`) {
		t.Errorf("summary JSON does not escape markup: %s", js)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/ui/", nil))
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q; want scripts from the page's origin only", csp)
	}
}

func TestRepoURLTemplate(t *testing.T) {
	for _, bad := range []string{"javascript:alert(1)//{file}", "git.example/{file}", "ftp://git.example/{file}", "data:text/html,{file}"} {
		if _, err := New(Options{Status: &fixedStatus{}, RepoURL: bad}); err == nil {
			t.Errorf("template %q accepted", bad)
		}
	}
	l, err := newLinker("https://git.example/o/c/-/blob/{commit}/{file}#L{line}-{col}", "/config/")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.link("abc", "sites/a b#c.cue", 7, 0), "https://git.example/o/c/-/blob/abc/config/sites/a%20b%23c.cue#L7-1"; got != want {
		t.Errorf("link %s; want %s", got, want)
	}
	if got := (&linker{}).link("abc", "sites/a.cue", 1, 1); got != "" {
		t.Errorf("link without a template %q; want none", got)
	}
}

func TestSummary(t *testing.T) {
	sites, fe := sitesOf(100)
	sites[3].State, sites[4].State, sites[4].NotAfter = reconcile.SiteStale, reconcile.SiteFailed, time.Time{}
	h := newTestPage(t, reconcile.Status{Sites: sites}, fe, "")
	_, body := get(t, h, "/ui/api/summary")
	var s summary
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	if s.Counts != (siteCounts{Total: 100, Serving: 98, Stale: 1, Failed: 1}) {
		t.Errorf("counts %+v", s.Counts)
	}
	// Site i expires in i days less 12 hours: site 0 expired, 1-7 this week (day 0-6)...
	got := map[string]int{}
	for _, b := range s.Expiry {
		got[b.Label] = b.Count
	}
	want := map[string]int{"expired": 1, "this week": 6, "1–2 weeks": 7, "2–3 weeks": 7, "3–4 weeks": 7,
		"1–2 months": 32, "2–3 months": 30, "later": 9} // site 4 has no certificate
	for k, v := range want {
		if got[k] != v {
			t.Errorf("expiry %s: %d; want %d (all: %v)", k, got[k], v, got)
		}
	}
	if s.History == nil || s.Rejected != nil {
		t.Errorf("history %v, rejected %v; want [] and none", s.History, s.Rejected)
	}
	if code, _ := get(t, h, "/ui/api/fleet"); code != http.StatusNotFound {
		t.Errorf("/ui/api/fleet: %d; want 404 (served by the fleet handler when configured)", code)
	}
}

func TestUpstreamsUnhealthyFirst(t *testing.T) {
	fe := &fakeEdge{routes: []edge.RouteHealth{
		{Site: "alpha", Path: "/", Upstreams: []proxy.UpstreamStatus{{URL: "http://10.0.0.1:80"}}},
		{Site: "beta", Path: "/", Upstreams: []proxy.UpstreamStatus{{URL: "http://10.0.0.2:80"}, {URL: "http://10.0.0.3:80", Down: true, HealthChecked: true}}},
		{Site: "gamma", Path: "/api", Upstreams: []proxy.UpstreamStatus{{URL: "http://10.0.0.4:80", EjectedUntil: testNow, Failures: 3}}},
	}}
	h := newTestPage(t, reconcile.Status{}, fe, "")
	_, body := get(t, h, "/ui/api/upstreams")
	var p routePage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Routes {
		got = append(got, fmt.Sprintf("%s%s:%v", r.Site, r.Path, r.Healthy))
	}
	if strings.Join(got, " ") != "beta/:false gamma/api:false alpha/:true" || p.Unhealthy != 2 {
		t.Errorf("routes %v, %d unhealthy; want beta and gamma unhealthy first", got, p.Unhealthy)
	}
	if u := p.Routes[0].Upstreams[1]; u.State != "down" || p.Routes[1].Upstreams[0].State != "ejected" {
		t.Errorf("upstream states %+v", p.Routes)
	}
	_, page := get(t, h, "/ui/")
	if !strings.Contains(page, "2 of 3 routes unhealthy") || !strings.Contains(page, "http://10.0.0.3:80 down") {
		t.Errorf("page lacks the upstream health")
	}
}

// BenchmarkSitesPage10k is the cost of one page of the site table at 10,000 sites: the
// default view, a search, and a sort by 5xx rate (which reads every site's counters).
func BenchmarkSitesPage10k(b *testing.B) {
	sites, fe := sitesOf(10000)
	h := newTestPage(b, reconcile.Status{Sites: sites}, fe, "")
	for _, q := range []string{"sort=name", "q=site0999", "sort=errors", "sort=expiry&order=desc&offset=5000"} {
		b.Run(strings.NewReplacer("=", "-", "&", "+").Replace(q), func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/ui/api/sites?"+q, nil))
				n = rec.Body.Len()
			}
			b.ReportMetric(float64(n), "body-bytes")
		})
	}
	b.Run("index", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/ui/", nil))
		}
	})
}

// TestPassthroughSiteRow: a passthrough site has no certificate and no key: the page and
// the API say "passthrough" where the expiry would be, "—" for the key, and it is not in
// the expiry timeline.
func TestPassthroughSiteRow(t *testing.T) {
	sites, fe := sitesOf(1)
	sites = append(sites, reconcile.SiteStatus{Name: "secure", File: "sites/secure.cue", State: reconcile.SiteServing,
		Hosts: []string{"secure.example.test"}, Commit: "c0ffee", Passthrough: true})
	h := newTestPage(t, reconcile.Status{Sites: sites}, fe, "")
	_, body := get(t, h, "/ui/")
	row := regexp.MustCompile(`<tr data-site="secure"[^\n]*</tr>`).FindString(body)
	if !strings.Contains(row, "<td>passthrough</td><td>—</td>") {
		t.Errorf("secure's row %q; want passthrough for the expiry and — for the key", row)
	}
	p := getSites(t, h, "q=secure")
	if len(p.Sites) != 1 || !p.Sites[0].Passthrough || !p.Sites[0].NotAfter.IsZero() {
		t.Errorf("API sites = %+v; want secure, passthrough, without expiry", p.Sites)
	}
	_, js := get(t, h, "/ui/api/summary")
	var sum struct {
		Expiry []struct{ Count int } `json:"expiry"`
	}
	if err := json.Unmarshal([]byte(js), &sum); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range sum.Expiry {
		n += b.Count
	}
	if n != 1 {
		t.Errorf("expiry timeline counts %d sites; want 1 (the passthrough site has no certificate)", n)
	}
}
