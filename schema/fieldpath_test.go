package schema

import (
	"testing"

	"cuelang.org/go/cue/parser"
)

func TestFieldPathRenders(t *testing.T) {
	for _, tc := range []struct {
		p          fieldPath
		key, shown string
	}{
		{sitePath("a").field("routes").field("/").field("upstreams").index(0), `sites.a.routes."/".upstreams[0]`, `routes."/".upstreams[0]`},
		{sitePath("a-b").field("headers").field("set").field("X-Frame-Options"), `sites."a-b".headers.set."X-Frame-Options"`, `headers.set."X-Frame-Options"`},
		{sitePath("a.b").field("key").field("version"), `sites."a.b".key.version`, `key.version`},
		{sitePath("a").field("redirects").index(2).field("hosts").index(1), `sites.a.redirects[2].hosts[1]`, `redirects[2].hosts[1]`},
		{sitePath("a"), `sites.a`, ``},
		{repoPath("policy").field("allowed_upstreams").index(3), `policy.allowed_upstreams[3]`, `policy.allowed_upstreams[3]`},
		{repoPath("defaults").field("timeouts").field("connect"), `defaults.timeouts.connect`, `defaults.timeouts.connect`},
	} {
		if got := tc.p.key(); got != tc.key {
			t.Errorf("key %q; want %q", got, tc.key)
		}
		if got := tc.p.String(); got != tc.shown {
			t.Errorf("shown %q; want %q", got, tc.shown)
		}
		if got, want := tc.p.parent().key(), parentKey(tc.key); got != want {
			t.Errorf("parent of %q: %q; want %q", tc.key, got, want)
		}
	}
	// Deriving two paths from one shares nothing.
	base := sitePath("a").field("routes")
	p1, p2 := base.field("/x"), base.field("/y")
	if p1.key() != `sites.a.routes."/x"` || p2.key() != `sites.a.routes."/y"` {
		t.Errorf("derived paths alias: %q %q", p1.key(), p2.key())
	}
}

// TestExtractorPosFallsBack: a path the file does not write is placed at its closest
// written ancestor.
func TestExtractorPosFallsBack(t *testing.T) {
	src := "package edge\n\nsites: a: {\n\troutes: \"/api/\": upstreams: [\"http://x\"]\n}\n"
	f, err := parser.ParseFile("sites/a.cue", src)
	if err != nil {
		t.Fatal(err)
	}
	x := &extractor{file: "sites/a.cue", idx: buildIndex(f)}
	routes := sitePath("a").field("routes")
	for _, tc := range []struct {
		p    fieldPath
		want pos
	}{
		{routes.field("/api/").field("upstreams").index(0), pos{4, 31}},
		{routes.field("/api"), pos{4, 2}}, // not written: the routes label
		{routes.field("/api/").field("retries"), pos{4, 10}},
		{repoPath("policy"), pos{}},
	} {
		if got := x.pos(tc.p); got != tc.want {
			t.Errorf("pos(%s) = %v; want %v", tc.p.key(), got, tc.want)
		}
	}
}
