package schema

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestLoaderPageOnlyChangeChangesTheSite(t *testing.T) {
	fsys := testRepo(t)
	src := string(siteSrc("a", "a.example", "certs/a.pem", "http://127.0.0.1:3001"))
	src = src[:len(src)-2] + "\terror_pages: {\"404\": \"pages/404.html\", \"5xx\": \"pages/5xx.html\"}\n" +
		"\tmaintenance: {retry_after: \"90s\", page: \"pages/maint.htm\"}\n" +
		"\trewrites: [{from: \"/b/{x}\", to: \"/p/{x}\"}]\n}\n"
	fsys["sites/a.cue"] = &fstest.MapFile{Data: []byte(src)}
	fsys["pages/404.html"] = &fstest.MapFile{Data: []byte("<p>404 v1</p>")}
	fsys["pages/5xx.html"] = &fstest.MapFile{Data: []byte("<p>5xx</p>")}
	fsys["pages/maint.htm"] = &fstest.MapFile{Data: []byte("<p>soon</p>")}
	l := NewLoader(LoaderOptions{Now: func() time.Time { return testNow }})
	cfg1, err := l.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg1.Sites[0]
	if a.ErrorPages == nil || string(a.ErrorPages.Page(404).Body) != "<p>404 v1</p>" || a.ErrorPages.Page(502).File != "pages/5xx.html" {
		t.Fatalf("error pages: %+v", a.ErrorPages)
	}
	if ct := a.ErrorPages.Page(404).ContentType; ct != "text/html; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	if m := a.Maintenance; m == nil || m.RetryAfter != 90*time.Second || string(m.Page.Body) != "<p>soon</p>" {
		t.Errorf("maintenance: %+v", m)
	}
	if len(a.Rewrites) != 1 || a.Rewrites[0].To != "/p/{x}" {
		t.Errorf("rewrites: %+v", a.Rewrites)
	}

	cfg2, err := l.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if cfg2.Sites[0] != a {
		t.Error("nothing changed, but site a is a new *Site")
	}

	fsys["pages/404.html"] = &fstest.MapFile{Data: []byte("<p>404 v2</p>")}
	cfg3, err := l.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	a3 := cfg3.Sites[0]
	if a3 == a || a3.Digest == a.Digest {
		t.Fatal("only a page changed: want a new site with a new digest")
	}
	if got := string(a3.ErrorPages.Page(404).Body); got != "<p>404 v2</p>" {
		t.Errorf("404 page after the change: %q", got)
	}
	if cfg3.Sites[1] != cfg1.Sites[1] {
		t.Error("site b names no page but is a new *Site")
	}

	delete(fsys, "pages/5xx.html")
	if _, err := l.Load(fsys); err == nil {
		t.Error("a page file removed: want an error")
	}
}

func TestDiffShowsPageChanges(t *testing.T) {
	fsys := testRepo(t)
	src := string(siteSrc("a", "a.example", "certs/a.pem", "http://127.0.0.1:3001"))
	fsys["sites/a.cue"] = &fstest.MapFile{Data: []byte(src[:len(src)-2] + "\terror_pages: \"404\": \"pages/404.html\"\n}\n")}
	fsys["pages/404.html"] = &fstest.MapFile{Data: []byte("v1")}
	base, err := NewLoader(LoaderOptions{Now: func() time.Time { return testNow }}).Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	fsys["pages/404.html"] = &fstest.MapFile{Data: []byte("v2")}
	fsys["sites/b.cue"] = &fstest.MapFile{Data: []byte(strings.Replace(string(siteSrc("b", "b.example", "certs/b.pem", "http://127.0.0.1:3002")), "\n}\n", "\n\tmaintenance: true\n}\n", 1))}
	head, err := NewLoader(LoaderOptions{Now: func() time.Time { return testNow }}).Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	p := Diff(base, head)
	got := fmt.Sprint(p.Changed)
	for _, want := range []string{"error_pages", "404: pages/404.html (2 bytes, sha256 ", "maintenance", "off → on (retry after 5m"} {
		if !strings.Contains(got, want) {
			t.Errorf("plan %s lacks %q", got, want)
		}
	}
}
