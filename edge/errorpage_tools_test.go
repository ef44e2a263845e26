package edge

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/tests/testenv"
)

// TestErrorPagesCurl: curl (HTTP/2 and HTTP/1.1, GET and HEAD) gets a site's pages with
// their status, Content-Type and Content-Length.
func TestErrorPagesCurl(t *testing.T) {
	t.Parallel()
	curl := testenv.NeedTool(t, "curl", "curl")
	srv := startServer(t, Options{AdminListen: Off})
	publish(t, srv, 1, pagesSite(t, "b", "b.example.com", pagesBackend(t), true))
	caFile := writeCAFile(t)
	p := port(srv.Addr())
	for _, proto := range []string{"--http2", "--http1.1"} {
		for _, tc := range []struct {
			path   string
			head   bool
			status int
			body   string
		}{
			{"/nothing", false, 404, "<h1>b not found</h1>"},
			{"/nothing", true, 404, "<h1>b not found</h1>"},
			{"/fail", false, 500, "<h1>b broken</h1>"},
			{"/fail", true, 500, "<h1>b broken</h1>"},
			{"/down", false, 502, "<h1>b broken</h1>"},
		} {
			args := []string{"-si", proto, "--max-time", "10", "--cacert", caFile, "--resolve", "b.example.com:" + p + ":127.0.0.1"}
			if tc.head {
				args = append(args, "-I")
			}
			out, err := run(t, 15*time.Second, curl, append(args, "https://b.example.com:"+p+tc.path)...)
			if err != nil {
				t.Fatalf("curl %v: %v\n%s", args, err, out)
			}
			out = strings.ReplaceAll(strings.ToLower(out), "\r\n", "\n")
			wants := []string{" " + strconv.Itoa(tc.status) + " ", "content-type: text/html; charset=utf-8\n",
				"content-length: " + strconv.Itoa(len(tc.body)) + "\n", "cache-control: no-store\n"}
			if !tc.head {
				wants = append(wants, "\n\n"+tc.body)
			}
			for _, w := range wants {
				if !strings.Contains(out, w) {
					t.Errorf("%s %s head=%v: output lacks %q:\n%s", proto, tc.path, tc.head, w, out)
				}
			}
			if tc.head && strings.Contains(out, "<h1>") {
				t.Errorf("%s %s HEAD: a body was sent:\n%s", proto, tc.path, out)
			}
		}
	}
}

// TestNoHealthyUpstreamPage: the proxy's 503 (every upstream down by its health check)
// gets the site's 503 page, with the proxy's Retry-After.
func TestNoHealthyUpstreamPage(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{AdminListen: Off})
	s := pagesSite(t, "a", "a.example.com", pagesBackend(t), false)
	down := mustURL("http://" + testenv.DeadAddr(t))
	s.Routes = append(s.Routes, site.Route{Path: "/checked", Upstreams: []*url.URL{down},
		HealthCheck: &site.HealthCheck{Path: "/", Interval: 200 * time.Millisecond, Timeout: 100 * time.Millisecond}})
	publish(t, srv, 1, s)
	c := httpClient(t, srv.Addr(), false)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, body, resp := get(t, c, "https://a.example.com/checked")
		if st == 503 {
			if body != "<h1>a back soon</h1>" || resp.Header.Get("Retry-After") == "" {
				t.Errorf("503: %q Retry-After %q; want the 503 page and a Retry-After", body, resp.Header.Get("Retry-After"))
			}
			return
		}
		if st != 502 || time.Now().After(deadline) {
			t.Fatalf("status %d %q; want 502 until the health check marks the upstream down, then 503", st, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
