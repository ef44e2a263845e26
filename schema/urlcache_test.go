package schema

import (
	"testing"
	"testing/fstest"
	"time"
)

// TestLoadSharesUpstreamURLs: routes of one load naming the same upstream get the same
// parsed *url.URL; another upstream gets its own; the cache is not kept after the load.
func TestLoadSharesUpstreamURLs(t *testing.T) {
	fsys := testRepo(t)
	fsys["sites/b.cue"] = &fstest.MapFile{Data: siteSrc("b", "b.example", "certs/b.pem", "http://127.0.0.1:3001")}
	l := NewLoader(LoaderOptions{Now: func() time.Time { return testNow }})
	cfg, err := l.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	up := func(i int) string { return cfg.Sites[i].Routes[0].Upstreams[0].String() }
	if len(cfg.Sites) != 3 || up(0) != "http://127.0.0.1:3001" || up(1) != up(0) || up(2) != "http://127.0.0.1:3003" {
		t.Fatalf("sites %d, upstreams %s %s %s; want a and b on :3001, c on :3003", len(cfg.Sites), up(0), up(1), up(2))
	}
	a, b, c := cfg.Sites[0].Routes[0].Upstreams[0], cfg.Sites[1].Routes[0].Upstreams[0], cfg.Sites[2].Routes[0].Upstreams[0]
	if a != b {
		t.Error("sites a and b name the same upstream but hold two parsed URLs; want one shared")
	}
	if a == c {
		t.Error("sites a and c share a parsed URL for different upstreams")
	}
	if l.urls != nil {
		t.Errorf("the loader keeps %d parsed URLs after the load; want none", len(l.urls))
	}
}
