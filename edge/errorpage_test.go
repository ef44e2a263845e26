package edge

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/tests/testenv"
)

// pagesBackend is an app answering "/fail" with 500 and its own body, "/slow" only when
// the request is cancelled, anything else with "app <path>?<query>".
func pagesBackend(t *testing.T) *url.URL {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fail":
			w.Header().Set("X-App", "yes")
			w.Header().Set("ETag", `"app"`)
			w.WriteHeader(500)
			fmt.Fprint(w, "upstream oops")
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			fmt.Fprintf(w, "app %s?%s", r.URL.Path, r.URL.RawQuery)
		}
	}))
	t.Cleanup(srv.Close)
	return mustURL(srv.URL)
}

func page(file, body string) *site.Page {
	return &site.Page{File: file, ContentType: "text/html; charset=utf-8", Body: []byte(body)}
}

// pagesSite is a site of host with error pages: 404, 421, 504 and 503 of their own, 5xx
// for the rest; upstream replaces the app's 5xx bodies.
func pagesSite(t *testing.T, name, host string, app *url.URL, upstream bool) *Site {
	s := testSite(t, name, host)
	down := mustURL("http://" + testenv.DeadAddr(t))
	s.Routes = []site.Route{
		{Path: "/", Upstreams: []*url.URL{app}},
		{Path: "/down", Upstreams: []*url.URL{down}},
		{Path: "/slow", Upstreams: []*url.URL{app}, Timeouts: site.Timeouts{Response: 300 * time.Millisecond}},
		{Path: "/fail", Upstreams: []*url.URL{app}},
	}
	s.Routes[0].Path = "/app"
	s.ErrorPages = &site.ErrorPages{
		Status: map[int]*site.Page{
			404: page("pages/404.html", "<h1>"+name+" not found</h1>"),
			421: page("pages/421.html", "<h1>"+name+" misdirected</h1>"),
			503: page("pages/503.html", "<h1>"+name+" back soon</h1>"),
			504: page("pages/504.html", "<h1>"+name+" too slow</h1>"),
		},
		Server:   page("pages/5xx.html", "<h1>"+name+" broken</h1>"),
		Upstream: upstream,
	}
	return s
}

func TestErrorPagesForEachStatus(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{AdminListen: Off})
	app := pagesBackend(t)
	a := pagesSite(t, "a", "a.example.com", app, false)
	b := pagesSite(t, "b", "b.example.com", app, true)
	plain := testSite(t, "plain", "plain.example.com")
	plain.Routes[0].Upstreams = []*url.URL{app}
	plain.Routes[0].Path = "/app"
	publish(t, srv, 1, a, b, plain)
	for _, h1 := range []bool{false, true} {
		c := httpClient(t, srv.Addr(), h1)
		for _, tc := range []struct {
			method, url, host string
			status            int
			body              string
		}{
			{"GET", "https://a.example.com/nothing", "", 404, "<h1>a not found</h1>"},
			{"HEAD", "https://a.example.com/nothing", "", 404, ""},
			{"GET", "https://a.example.com/nothing", "b.example.com", 421, "<h1>a misdirected</h1>"},
			{"GET", "https://a.example.com/down/x", "", 502, "<h1>a broken</h1>"},
			{"GET", "https://a.example.com/slow", "", 504, "<h1>a too slow</h1>"},
			{"GET", "https://a.example.com/fail", "", 500, "upstream oops"},
			{"GET", "https://b.example.com/fail", "", 500, "<h1>b broken</h1>"},
			{"HEAD", "https://b.example.com/fail", "", 500, ""},
			{"GET", "https://b.example.com/app/ok", "", 200, "app /app/ok?"},
			{"GET", "https://plain.example.com/nothing", "", 404, "404 Not Found\n"},
			{"GET", "https://plain.example.com/x", "a.example.com", 421, "421 Misdirected Request\n"},
		} {
			req, _ := http.NewRequest(tc.method, tc.url, nil)
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			what := fmt.Sprintf("h1=%v %s %s Host %s", h1, tc.method, tc.url, tc.host)
			if resp.StatusCode != tc.status || body != tc.body {
				t.Errorf("%s = %d %q; want %d %q", what, resp.StatusCode, body, tc.status, tc.body)
				continue
			}
			checkPageHeaders(t, what, resp, tc.body)
		}
	}
}

// checkPageHeaders checks a page's Content-Type and Content-Length (also on HEAD, where
// the page's length is announced).
func checkPageHeaders(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	if !strings.HasPrefix(body, "<h1>") && resp.Request.Method != "HEAD" {
		return // not a page
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q", what, cc)
	}
	if resp.Header.Get("ETag") != "" {
		t.Errorf("%s: ETag %q of the upstream's body kept", what, resp.Header.Get("ETag"))
	}
	if resp.Request.Method == "HEAD" {
		if n, _ := strconv.Atoi(resp.Header.Get("Content-Length")); n == 0 {
			t.Errorf("%s: Content-Length %q; want the page's length", what, resp.Header.Get("Content-Length"))
		}
		return
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("%s: Content-Length %d; want %d", what, resp.ContentLength, len(body))
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func TestUpstreamPageKeepsHeaders(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{AdminListen: Off})
	publish(t, srv, 1, pagesSite(t, "b", "b.example.com", pagesBackend(t), true))
	_, body, resp := get(t, httpClient(t, srv.Addr(), false), "https://b.example.com/fail")
	if resp.StatusCode != 500 || body != "<h1>b broken</h1>" || resp.Header.Get("X-App") != "yes" {
		t.Errorf("= %d %q X-App %q; want 500, the page, the app's header kept", resp.StatusCode, body, resp.Header.Get("X-App"))
	}
}

func TestMaintenanceSwitch(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{AdminListen: Off})
	app := pagesBackend(t)
	s := pagesSite(t, "a", "a.example.com", app, false)
	publish(t, srv, 1, s)
	c := httpClient(t, srv.Addr(), false)
	if st, body, _ := get(t, c, "https://a.example.com/app/x"); st != 200 || body != "app /app/x?" {
		t.Fatalf("before maintenance: %d %q", st, body)
	}
	on := *s
	on.Maintenance = &site.Maintenance{RetryAfter: 90*time.Second + time.Millisecond}
	publish(t, srv, 2, &on)
	for _, p := range []string{"/app/x", "/nothing", "/down"} {
		st, body, resp := get(t, c, "https://a.example.com"+p)
		if st != 503 || body != "<h1>a back soon</h1>" || resp.Header.Get("Retry-After") != "91" {
			t.Errorf("maintenance %s: %d %q Retry-After %q; want 503, the 503 page, 91", p, st, body, resp.Header.Get("Retry-After"))
		}
	}
	own := on
	own.Maintenance = &site.Maintenance{Page: page("pages/maintenance.html", "<h1>upgrading</h1>")}
	publish(t, srv, 3, &own)
	st, body, resp := get(t, c, "https://a.example.com/app/x")
	if st != 503 || body != "<h1>upgrading</h1>" || resp.Header.Get("Retry-After") != "300" {
		t.Errorf("maintenance page: %d %q Retry-After %q; want 503, its own page, 300", st, body, resp.Header.Get("Retry-After"))
	}
	publish(t, srv, 4, s)
	if st, body, _ := get(t, c, "https://a.example.com/app/x"); st != 200 || body != "app /app/x?" {
		t.Errorf("after maintenance: %d %q", st, body)
	}
}

// TestMisdirectedPageOfDefaultSite: a connection with an unknown SNI gets the default
// site's certificate; a Host of another site on it is 421 with the default site's page.
func TestMisdirectedPageOfDefaultSite(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{AdminListen: Off})
	app := pagesBackend(t)
	a := pagesSite(t, "a", "a.example.com", app, false)
	a.Default = true
	publish(t, srv, 1, a, pagesSite(t, "b", "b.example.com", app, false))
	c := httpClient(t, srv.Addr(), false)
	tr := c.Transport.(*http.Transport)
	tr.TLSClientConfig.InsecureSkipVerify = true // the default certificate does not cover the name asked for
	st, body, _ := get(t, c, "https://unknown.example.com/nothing", "Host", "b.example.com")
	if st != 421 || body != "<h1>a misdirected</h1>" {
		t.Errorf("= %d %q; want 421 with the default site's page", st, body)
	}
}

// TestErrorPagesHTTP3: the same pages over HTTP/3 (404, 421, upstream 5xx, maintenance).
func TestErrorPagesHTTP3(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	app := pagesBackend(t)
	b := pagesSite(t, "b", "b.example.com", app, true)
	m := pagesSite(t, "m", "m.example.com", app, false)
	m.Maintenance = &site.Maintenance{RetryAfter: time.Minute}
	publish(t, srv, 1, b, m)
	c, _ := h3Client(t, srv.HTTP3Addr())
	for _, tc := range []struct {
		url, host, body string
		status          int
	}{
		{"https://b.example.com/nothing", "", "<h1>b not found</h1>", 404},
		{"https://b.example.com/x", "m.example.com", "<h1>b misdirected</h1>", 421},
		{"https://b.example.com/fail", "", "<h1>b broken</h1>", 500},
		{"https://m.example.com/app/x", "", "<h1>m back soon</h1>", 503},
	} {
		var hdr []string
		if tc.host != "" {
			hdr = []string{"Host", tc.host}
		}
		st, body, resp := get(t, c, tc.url, hdr...)
		if st != tc.status || body != tc.body || resp.Proto != "HTTP/3.0" {
			t.Errorf("%s Host %s: %d %q %s; want %d %q over HTTP/3", tc.url, tc.host, st, body, resp.Proto, tc.status, tc.body)
		}
		checkPageHeaders(t, tc.url, resp, body)
	}
}
