package edge

import (
	"net/url"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

func TestRewritesBeforeRouting(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{AdminListen: Off})
	app := pagesBackend(t)
	s := testSite(t, "r", "r.example.com")
	s.Routes = []site.Route{
		{Path: "/posts", Upstreams: []*url.URL{app}},
		{Path: "/assets", Upstreams: []*url.URL{app}},
		{Path: "/user", Upstreams: []*url.URL{app}},
		{Path: "/old", Upstreams: []*url.URL{app}},
	}
	s.Redirects = []site.Redirect{{Path: "/old", To: "https://elsewhere.example", Status: 301}}
	s.Rewrites = []site.Rewrite{
		{From: "/blog/{year}/{slug}", To: "/posts/{slug}?y={year}"},
		{From: "/static/{rest...}", To: "/assets/{rest}"},
		{From: "/u/{name}", To: "/user?n={name}"},
		{From: "/posts/{slug}", To: "/never"},                   // a rewrite's output is not rewritten again
		{From: "/old/{x}", To: "/posts/{x}"},                    // redirects come first
		{From: "/esc/{rest...}", To: "/posts/../assets/{rest}"}, // the result is cleaned
	}
	publish(t, srv, 1, s)
	c := httpClient(t, srv.Addr(), false)
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/blog/2024/hello", 200, "app /posts/hello?y=2024"},
		{"/blog/2024/hello?a=1&y=1999", 200, "app /posts/hello?y=2024&a=1"},
		{"/blog/2024/a%20b", 200, "app /posts/a b?y=2024"},
		{"/blog/2024/../2025/x", 200, "app /posts/x?y=2025"},
		{"/blog/2024/%2e%2e/x", 404, "404 Not Found\n"}, // "/blog/x": cleaned first
		{"/blog/2024/a%2Fb", 404, "404 Not Found\n"},    // "/blog/2024/a/b": no match
		{"/blog/2024", 404, "404 Not Found\n"},
		{"/static/css/a.css?v=3", 200, "app /assets/css/a.css?v=3"},
		{"/u/a&b=c", 200, "app /user?n=a%26b%3Dc"},
		{"/posts/direct", 404, "404 Not Found\n"}, // rewritten to /never, which has no route
		{"/old/x", 301, "<a href=\"https://elsewhere.example\">Moved Permanently</a>.\n\n"},
		{"/esc/a/b", 200, "app /assets/a/b?"},
	} {
		st, body, _ := get(t, c, "https://r.example.com"+tc.path)
		if st != tc.status || body != tc.body {
			t.Errorf("%s = %d %q; want %d %q", tc.path, st, body, tc.status, tc.body)
		}
	}
}
