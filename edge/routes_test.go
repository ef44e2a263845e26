package edge

import (
	"net/http/httptest"
	"testing"
)

func TestPathMatches(t *testing.T) {
	for _, tc := range []struct {
		prefix, p string
		want      bool
	}{
		{"/", "/", true},
		{"/", "/anything/at/all", true},
		{"/api", "/api", true},
		{"/api", "/api/", true},
		{"/api", "/api/x", true},
		{"/api", "/apix", false},
		{"/api", "/ap", false},
		{"/api/", "/api/", true},
		{"/api/", "/api/x", true},
		{"/api/", "/api", false},
		{"/api/v1", "/api/v1/users", true},
		{"/api/v1", "/api/v10", false},
	} {
		if got := pathMatches(tc.prefix, tc.p); got != tc.want {
			t.Errorf("pathMatches(%q, %q) = %v; want %v", tc.prefix, tc.p, got, tc.want)
		}
	}
}

func TestMatchRoute(t *testing.T) {
	routes := []routeEntry{{path: "/"}, {path: "/api"}, {path: "/api/v1"}, {path: "/static/"}}
	sortByPathLength(routes, func(e *routeEntry) string { return e.path })
	for _, tc := range []struct{ p, want string }{
		{"/", "/"},
		{"/index.html", "/"},
		{"/api", "/api"},
		{"/apix", "/"},
		{"/api/v1/users", "/api/v1"},
		{"/api/v2", "/api"},
		{"/static", "/"},
		{"/static/app.js", "/static/"},
	} {
		got := matchRoute(routes, tc.p)
		if got == nil || got.path != tc.want {
			t.Errorf("matchRoute(%q) = %v; want %q", tc.p, got, tc.want)
		}
	}
	if got := matchRoute(routes[:1:1][:0], "/"); got != nil {
		t.Errorf("matchRoute on no routes = %v; want nil", got)
	}
}

func TestMatchRedirect(t *testing.T) {
	rds := []redirectEntry{
		{path: "/", hosts: []string{"old.example.com"}, to: "https://new.example.com", keepPath: true},
		{path: "/blog", to: "https://blog.example.com"},
		{path: "/", hosts: []string{"*.legacy.example.com"}, to: "https://example.com"},
	}
	sortByPathLength(rds, func(e *redirectEntry) string { return e.path })
	for _, tc := range []struct{ host, p, want string }{
		{"old.example.com", "/x", "https://new.example.com"},
		{"www.example.com", "/blog/post", "https://blog.example.com"},
		{"old.example.com", "/blog", "https://blog.example.com"},
		{"a.legacy.example.com", "/", "https://example.com"},
		{"www.example.com", "/x", ""},
		{"a.b.legacy.example.com", "/", ""},
	} {
		got := matchRedirect(rds, tc.host, tc.p)
		gotTo := ""
		if got != nil {
			gotTo = got.to
		}
		if gotTo != tc.want {
			t.Errorf("matchRedirect(%q, %q) = %q; want %q", tc.host, tc.p, gotTo, tc.want)
		}
	}
	r := httptest.NewRequest("GET", "https://old.example.com/a/b?q=1", nil)
	if got, want := matchRedirect(rds, "old.example.com", "/a/b").location(r), "https://new.example.com/a/b?q=1"; got != want {
		t.Errorf("location = %q; want %q", got, want)
	}
}

func TestCleanPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/api/x", "/api/x"},
		{"/api/x/", "/api/x/"},
		{"/api/../admin", "/admin"},
		{"/api/./x", "/api/x"},
		{"//api", "/api"},
		{"/api/..", "/"},
		{"/a/b/../", "/a/"},
		{"api", "/api"},
		{"/.well-known/x", "/.well-known/x"},
		{"/..x", "/..x"},
	} {
		if got := cleanPath(tc.in); got != tc.want {
			t.Errorf("cleanPath(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
