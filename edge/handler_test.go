package edge

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"

	"github.com/edgectl/edge/edge/site"
)

// routingSites returns sites backed by real backends:
//   - shop: shop.example.com and www.shop.example.com, "/" -> shop-web, "/api" -> shop-api
//     (strip prefix), HSTS, Set X-Frame-Options, Remove X-Powered-By, a redirect of
//     www.shop.example.com to the apex keeping the path.
//   - blog: blog.example.com, "/" -> blog.
//   - apps: *.apps.example.com -> apps.
func routingSites(t *testing.T) (shop, blog, apps *Site) {
	shop = testSite(t, "shop", "shop.example.com", "www.shop.example.com")
	shop.Routes = []site.Route{
		{Path: "/", Upstreams: []*url.URL{edgetest.Backend(t, "shop-web")}},
		{Path: "/api", Upstreams: []*url.URL{edgetest.Backend(t, "shop-api")}, StripPrefix: true},
	}
	shop.Redirects = []site.Redirect{{Hosts: []string{"www.shop.example.com"}, To: "https://shop.example.com", KeepPath: true}}
	shop.Headers = site.Headers{
		HSTS:   &site.HSTS{MaxAge: 365 * 24 * time.Hour, IncludeSubdomains: true},
		Set:    map[string]string{"X-Frame-Options": "DENY"},
		Remove: []string{"X-Powered-By"},
	}
	blog = testSite(t, "blog", "blog.example.com")
	blog.Routes[0].Upstreams = []*url.URL{edgetest.Backend(t, "blog")}
	apps = testSite(t, "apps", "*.apps.example.com")
	apps.Routes[0].Upstreams = []*url.URL{edgetest.Backend(t, "apps")}
	return shop, blog, apps
}

func TestRouting(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	shop, blog, apps := routingSites(t)
	publish(t, srv, 1, shop, blog, apps)
	base := "https://shop.example.com"
	for _, h1 := range []bool{false, true} {
		c := httpClient(t, srv.Addr(), h1)
		wantProto := map[bool]string{false: "HTTP/2.0", true: "HTTP/1.1"}[h1]
		for _, tc := range []struct {
			url, host  string // host: Host header if not the URL's
			wantStatus int
			wantBody   string // prefix
		}{
			{base + "/", "", 200, "shop-web GET /"},
			{base + "/cart?x=1", "", 200, "shop-web GET /cart"},
			{base + "/api", "", 200, "shop-api GET /"},
			{base + "/api/users", "", 200, "shop-api GET /users"},
			{base + "/apix", "", 200, "shop-web GET /apix"},
			{base + "/x/../api/y", "", 200, "shop-api"},
			{"https://blog.example.com/post", "", 200, "blog GET /post"},
			{"https://a1.apps.example.com/", "", 200, "apps GET /"},
			{"https://A1.Apps.Example.com./", "", 200, "apps GET /"},
			// The Host must belong to the connection's (SNI's) site.
			{base + "/", "blog.example.com", 421, "421 Misdirected Request"},
			{base + "/", "unknown.example.com", 421, "421"},
			{"https://a1.apps.example.com/", "a2.apps.example.com", 200, "apps"},
			{"https://a1.apps.example.com/", "shop.example.com", 421, "421"},
			{base + "/", "shop.example.com:443", 200, "shop-web"},
			{base + "/", "SHOP.example.com.", 200, "shop-web"},
		} {
			var hdr []string
			if tc.host != "" {
				hdr = []string{"Host", tc.host}
			}
			status, body, resp := get(t, c, tc.url, hdr...)
			if status != tc.wantStatus || !strings.HasPrefix(body, tc.wantBody) {
				t.Errorf("%s GET %s (Host %q) = %d %q; want %d %q", wantProto, tc.url, tc.host, status, body, tc.wantStatus, tc.wantBody)
			}
			if resp.Proto != wantProto {
				t.Errorf("GET %s: proto %s; want %s", tc.url, resp.Proto, wantProto)
			}
		}
	}
}

func TestRedirectAndHeaders(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	shop, blog, apps := routingSites(t)
	publish(t, srv, 1, shop, blog, apps)
	c := httpClient(t, srv.Addr(), false)

	status, _, resp := get(t, c, "https://www.shop.example.com/a/b?q=1")
	if status != 308 || resp.Header.Get("Location") != "https://shop.example.com/a/b?q=1" {
		t.Errorf("redirect = %d %q; want 308 https://shop.example.com/a/b?q=1", status, resp.Header.Get("Location"))
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("redirect has no HSTS header")
	}

	status, _, resp = get(t, c, "https://shop.example.com/")
	for name, want := range map[string]string{
		"Strict-Transport-Security": "max-age=31536000; includeSubDomains",
		"X-Frame-Options":           "DENY",
		"X-Powered-By":              "",
		"X-Backend":                 "shop-web",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("status %d, header %s = %q; want %q", status, name, got, want)
		}
	}
	_, _, resp = get(t, c, "https://blog.example.com/")
	if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("blog (no HSTS declared) sent HSTS %q", got)
	}
	if got := resp.Header.Get("X-Powered-By"); got != "edgetest" {
		t.Errorf("blog (nothing removed) X-Powered-By = %q; want edgetest", got)
	}
	status, _, resp = get(t, c, "https://shop.example.com/", "Host", "unknown.example.com")
	if status != 421 || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("421 = %d with HSTS %q; want no site headers", status, resp.Header.Get("Strict-Transport-Security"))
	}
}

func TestRemovedSiteOnOpenConnection(t *testing.T) {
	for _, h1 := range []bool{false, true} {
		srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
		shop, blog, apps := routingSites(t)
		publish(t, srv, 1, shop, blog, apps)
		c := httpClient(t, srv.Addr(), h1)
		if status, body, _ := get(t, c, "https://blog.example.com/"); status != 200 {
			t.Fatalf("before removal: %d %s", status, body)
		}
		publish(t, srv, 2, shop, apps) // blog removed

		resp, _, reused := getTraced(t, c, "https://blog.example.com/")
		if !reused {
			t.Fatalf("h1=%v: the request did not reuse the open connection; the test proves nothing", h1)
		}
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("h1=%v: removed site on an open connection = %d; want 421", h1, resp.StatusCode)
		}
		// A new connection for the removed name is refused at the handshake.
		if _, _, err := handshake(t, srv.Addr(), &tls.Config{ServerName: "blog.example.com"}); err == nil {
			t.Errorf("h1=%v: new handshake for a removed site succeeded", h1)
		}
		// The other sites are still served on their connections.
		if status, _, _ := get(t, c, "https://shop.example.com/"); status != 200 {
			t.Errorf("h1=%v: shop after removing blog = %d", h1, status)
		}
	}
}

func TestSiteMovedBetweenSnapshots(t *testing.T) {
	// A host moving from one site to another on an open connection is answered by the new
	// site only if the connection's SNI maps to it now.
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	shop, blog, apps := routingSites(t)
	publish(t, srv, 1, shop, blog, apps)
	c := httpClient(t, srv.Addr(), false)
	get(t, c, "https://blog.example.com/")
	blog2 := testSite(t, "blog2", "blog.example.com")
	blog2.Routes[0].Upstreams = []*url.URL{edgetest.Backend(t, "blog2")}
	publish(t, srv, 2, shop, apps, blog2)
	resp, body, reused := getTraced(t, c, "https://blog.example.com/")
	if !reused {
		t.Fatal("the request did not reuse the open connection; the test proves nothing")
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "blog2") {
		t.Errorf("after move = %d %q; want 200 from blog2", resp.StatusCode, body)
	}
}

func TestNoSnapshotAndNotFound(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	// Before the first swap every handshake is refused.
	if _, _, err := handshake(t, srv.Addr(), &tls.Config{ServerName: "shop.example.com"}); err == nil {
		t.Error("handshake before any snapshot succeeded")
	}
	redirectOnly := testSite(t, "old", "old.example.com")
	redirectOnly.Routes = nil
	redirectOnly.Redirects = []site.Redirect{{Path: "/keep", To: "https://new.example.com", Status: 301}}
	publish(t, srv, 1, redirectOnly)
	c := httpClient(t, srv.Addr(), false)
	if status, _, resp := get(t, c, "https://old.example.com/keep/x"); status != 301 || resp.Header.Get("Location") != "https://new.example.com" {
		t.Errorf("redirect = %d %q", status, resp.Header.Get("Location"))
	}
	if status, _, _ := get(t, c, "https://old.example.com/other"); status != 404 {
		t.Errorf("no route = %d; want 404", status)
	}
}

// getTraced GETs url with c and says whether the request went over an open connection.
func getTraced(t *testing.T, c *http.Client, url string) (resp *http.Response, body []byte, reused bool) {
	t.Helper()
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body, reused
}

// TestRequestStateFor: the HTTP/1.1 loop's response lends its requestState once; any
// other writer, or a second request of the same response, gets a new one.
func TestRequestStateFor(t *testing.T) {
	hw := &h1Response{}
	if st := requestStateFor(hw); st != &hw.state {
		t.Fatal("the h1 response's own state was not used")
	}
	if st := requestStateFor(hw); st == &hw.state {
		t.Fatal("the h1 response's state was lent twice")
	}
	rec := httptest.NewRecorder()
	if a, b := requestStateFor(rec), requestStateFor(rec); a == b {
		t.Fatal("two requests share a state")
	}
}
