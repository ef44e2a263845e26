package schema

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"
)

// diffMap is a MapFS that is a DiffFS: it compares itself with an earlier diffMap file by
// file (every file added, removed or changed is named).
type diffMap struct{ fstest.MapFS }

func (m diffMap) ChangedSince(prev fs.FS) ([]string, bool) {
	p, ok := prev.(diffMap)
	if !ok {
		return nil, false
	}
	var out []string
	for k, f := range m.MapFS {
		if g, ok := p.MapFS[k]; !ok || !bytes.Equal(f.Data, g.Data) || f.Mode != g.Mode {
			out = append(out, k)
		}
	}
	for k := range p.MapFS {
		if _, ok := m.MapFS[k]; !ok {
			out = append(out, k)
		}
	}
	return out, true
}

// loadSummary is what a load returns, for comparing two loads: the error, or each site's
// name and digest, the warnings and the defaults.
func loadSummary(cfg *Config, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, s := range cfg.Sites {
		fmt.Fprintf(&b, "site %s %s\n", s.Name, s.Digest)
	}
	d := cfg.Defaults
	hsts := d.HSTS
	d.HSTS = nil
	fmt.Fprintf(&b, "warnings: %v\ndefaults: %+v %+v\nissuers: %+v\n", cfg.Warnings, d, hsts, cfg.Issuers)
	return b.String()
}

// incStep is one commit of TestIncrementalLoadEqualsFullLoad: a change to the repo (and
// to the time), and how many site files the incremental load may evaluate (-1: any).
type incStep struct {
	name   string
	change func(fstest.MapFS)
	now    time.Time
	evals  int
	full   bool // a full load is due (edge.cue changed, sites/ is new, a certificate expired)
}

func siteWith(name string, hosts []string, cert, extra string) []byte {
	q := make([]string, len(hosts))
	for i, h := range hosts {
		q[i] = fmt.Sprintf("%q", h)
	}
	return fmt.Appendf(nil, "package edge\n\nsites: %s: {\n\thosts: [%s]\n\tcert: %q\n\tkey: path: \"edge/%s\"\n\troutes: \"/\": upstreams: [\"http://127.0.0.1:3001\"]\n%s}\n",
		CUELabel(name), strings.Join(q, ", "), cert, name, extra)
}

func incSteps(t *testing.T) []incStep {
	file := func(p string, b []byte) func(fstest.MapFS) {
		return func(m fstest.MapFS) { m[p] = &fstest.MapFile{Data: b} }
	}
	rm := func(ps ...string) func(fstest.MapFS) {
		return func(m fstest.MapFS) {
			for _, p := range ps {
				delete(m, p)
			}
		}
	}
	cert := func(name string) []byte {
		b, err := os.ReadFile("testdata/certs/" + name + ".pem")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	later := testNow.Add(4 * 24 * time.Hour) // soon.pem (2027-01-11) still within its window
	expired := time.Date(2027, 1, 12, 0, 0, 0, 0, time.UTC)
	return []incStep{
		{name: "nothing changed", change: func(fstest.MapFS) {}, evals: 0},
		{name: "one site changed", change: file("sites/b.cue", siteSrc("b", "b.example", "certs/b.pem", "http://127.0.0.1:3999")), evals: 1},
		{name: "new site takes a's host", change: file("sites/d.cue", siteWith("d", []string{"a.example"}, "certs/a.pem", "")), evals: 1},
		{name: "conflict fixed by removing d", change: rm("sites/d.cue"), evals: 0},
		{name: "a takes its wildcard", change: file("sites/a.cue", siteWith("a", []string{"a.example", "*.a.example"}, "certs/a.pem", "")), evals: 1},
		{name: "new site under a's wildcard", change: file("sites/x.cue", siteWith("x", []string{"x.a.example"}, "certs/a.pem", "")), evals: 1},
		{name: "a drops the wildcard", change: file("sites/a.cue", siteWith("a", []string{"a.example"}, "certs/a.pem", "")), evals: 1},
		{name: "a certificate replaced by another's", change: file("certs/c.pem", cert("b")), evals: 0},
		{name: "the certificate restored", change: file("certs/c.pem", cert("c")), evals: 0},
		{name: "a certificate removed", change: rm("certs/c.pem"), evals: 0},
		{name: "the certificate back", change: file("certs/c.pem", cert("c")), evals: 0},
		{name: "error pages", change: func(m fstest.MapFS) {
			m["sites/b.cue"] = &fstest.MapFile{Data: siteWith("b", []string{"b.example"}, "certs/b.pem", "\terror_pages: {\"404\": \"pages/404.html\"}\n")}
			m["pages/404.html"] = &fstest.MapFile{Data: []byte("<p>v1</p>")}
		}, evals: 1},
		{name: "a page changed", change: file("pages/404.html", []byte("<p>v2</p>")), evals: 0},
		{name: "a page removed", change: rm("pages/404.html"), evals: 0},
		{name: "the page back", change: file("pages/404.html", []byte("<p>v3</p>")), evals: 0},
		{name: "static site", change: func(m fstest.MapFS) {
			m["sites/s.cue"] = &fstest.MapFile{Data: []byte("package edge\n\nsites: s: {\n\thosts: [\"c.example\"]\n\tcert: \"certs/c.pem\"\n\tkey: path: \"edge/s\"\n\troutes: \"/\": static: repo_dir: \"www/s\"\n}\n")}
			m["sites/c.cue"] = &fstest.MapFile{Data: siteWith("c", []string{"www.b.example"}, "certs/b.pem", "")}
			m["www/s/index.html"] = &fstest.MapFile{Data: []byte("v1")}
		}, evals: 2},
		{name: "a static file changed", change: file("www/s/index.html", []byte("v2")), evals: 0},
		{name: "a static file added deeper", change: file("www/s/js/app.js", []byte("1")), evals: 0},
		{name: "the static directory removed", change: rm("www/s/index.html", "www/s/js/app.js"), evals: 0},
		{name: "the static directory back", change: file("www/s/index.html", []byte("v3")), evals: 0},
		{name: "stray entries in sites/", change: func(m fstest.MapFS) {
			m["sites/old.json"] = &fstest.MapFile{Data: []byte("{}")}
			m["sites/sub/y.cue"] = &fstest.MapFile{Data: []byte("package edge\n")}
			m["sites/.hidden.cue"] = &fstest.MapFile{Data: []byte("x")}
		}, evals: 0},
		{name: "stray entries gone", change: rm("sites/old.json", "sites/sub/y.cue"), evals: 0},
		{name: "an invalid site name", change: file("sites/Bad.cue", siteSrc("bad", "bad.example", "certs/a.pem", "http://127.0.0.1:1")), evals: 0},
		{name: "the invalid name gone", change: rm("sites/Bad.cue"), evals: 0},
		{name: "a syntax error", change: file("sites/b.cue", []byte("package edge\n\nsites: b: {\n")), evals: 1},
		{name: "two default sites", change: func(m fstest.MapFS) {
			m["sites/b.cue"] = &fstest.MapFile{Data: siteWith("b", []string{"b.example"}, "certs/b.pem", "\tdefault: true\n")}
			m["sites/x.cue"] = &fstest.MapFile{Data: siteWith("x", []string{"x.a.example"}, "certs/a.pem", "\tdefault: true\n")}
		}, evals: 2},
		{name: "one default site", change: file("sites/x.cue", siteWith("x", []string{"x.a.example"}, "certs/a.pem", "")), evals: 1},
		{name: "a site renamed", change: func(m fstest.MapFS) {
			m["sites/x2.cue"] = &fstest.MapFile{Data: siteWith("x2", []string{"x.a.example"}, "certs/a.pem", "")}
			delete(m, "sites/x.cue")
		}, evals: 1},
		{name: "an expiring certificate", change: func(m fstest.MapFS) {
			m["certs/soon.pem"] = &fstest.MapFile{Data: cert("soon")}
			m["sites/soon.cue"] = &fstest.MapFile{Data: siteWith("soon", []string{"soon.example"}, "certs/soon.pem", "")}
		}, evals: 1},
		{name: "time passes within the window", now: later, change: func(fstest.MapFS) {}, evals: 0},
		{name: "the certificate expires", full: true, now: expired, change: func(fstest.MapFS) {}, evals: -1},
		{name: "renewed", now: expired, change: file("sites/soon.cue", siteWith("soon", []string{"soon.a.example"}, "certs/a.pem", "")), evals: 1},
		{name: "edge.cue allows overlaps", full: true, now: expired, change: file("edge.cue", []byte("package edge\n\npolicy: allow_wildcard_overlap: true\n")), evals: -1},
		{name: "a wildcard under the policy", now: expired, change: file("sites/a.cue", siteWith("a", []string{"a.example", "*.a.example"}, "certs/a.pem", "")), evals: 1},
		{name: "edge.cue gone", full: true, now: expired, change: rm("edge.cue"), evals: -1},
		{name: "sites/ gone", full: true, now: expired, change: func(m fstest.MapFS) {
			for k := range m {
				if strings.HasPrefix(k, "sites/") {
					delete(m, k)
				}
			}
		}, evals: -1},
		{name: "sites/ back", full: true, now: expired, change: file("sites/a.cue", siteWith("a", []string{"a.example"}, "certs/a.pem", "")), evals: -1},
	}
}

// TestIncrementalLoadEqualsFullLoad loads a sequence of commits with one Loader given
// DiffFS revisions (loading only what changed) and compares each result with a full load
// of the same files by a new Loader: sites, digests, warnings and errors must be equal, and
// a commit changing a few files must evaluate only the sites they concern.
func TestIncrementalLoadEqualsFullLoad(t *testing.T) {
	m := testRepo(t)
	var now atomic.Pointer[time.Time]
	now.Store(&testNow)
	clock := func() time.Time { return *now.Load() }
	var evals atomic.Int32
	SetEvaluatingHook(t, func(string) { evals.Add(1) })
	incremental := false
	testHookIncremental = func() { incremental = true }
	t.Cleanup(func() { testHookIncremental = nil })
	inc := NewLoader(LoaderOptions{Now: clock})
	if _, err := inc.Load(diffMap{maps.Clone(m)}); err != nil {
		t.Fatal(err)
	}
	for _, st := range incSteps(t) {
		if !st.now.IsZero() {
			now.Store(&st.now)
		}
		st.change(m)
		evals.Store(0)
		incremental = false
		got := loadSummary(inc.Load(diffMap{maps.Clone(m)}))
		n := evals.Load()
		want := loadSummary(NewLoader(LoaderOptions{Now: clock}).Load(maps.Clone(m)))
		if got != want {
			t.Errorf("%s: incremental load:\n%s\nfull load:\n%s", st.name, got, want)
		}
		if incremental == st.full {
			t.Errorf("%s: incremental load %v; want %v", st.name, incremental, !st.full)
		}
		if st.evals >= 0 && int(n) != st.evals {
			t.Errorf("%s: evaluated %d site files; want %d", st.name, n, st.evals)
		}
		t.Logf("%s: %d evaluated; %.60q", st.name, n, got)
	}
}

// TestIncrementalLoadKeepsEvalCache: incremental loads append the records of the sites
// they evaluate to the evaluation cache (CacheDir), which stays bounded (rewritten once
// half of it is garbage), so a new process loading the last revision evaluates nothing.
func TestIncrementalLoadKeepsEvalCache(t *testing.T) {
	m := testRepo(t)
	cache := t.TempDir()
	opts := LoaderOptions{Now: func() time.Time { return testNow }, CacheDir: cache}
	l := NewLoader(opts)
	if _, err := l.Load(diffMap{maps.Clone(m)}); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		info, err := os.Stat(cache + "/evalcache")
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	first := size()
	incremental := 0
	testHookIncremental = func() { incremental++ }
	t.Cleanup(func() { testHookIncremental = nil })
	var largest int64
	for i := range 40 {
		m["sites/b.cue"] = &fstest.MapFile{Data: fmt.Appendf(siteSrc("b", "b.example", "certs/b.pem", "http://127.0.0.1:3002"), "// change %d\n", i)}
		if _, err := l.Load(diffMap{maps.Clone(m)}); err != nil {
			t.Fatal(err)
		}
		largest = max(largest, size())
	}
	if incremental != 40 {
		t.Errorf("%d of 40 loads incremental", incremental)
	}
	if largest > 2*first {
		t.Errorf("the cache file grew to %d bytes from %d; want it rewritten before twice its size", largest, first)
	}
	var evals atomic.Int32
	SetEvaluatingHook(t, func(string) { evals.Add(1) })
	if _, err := NewLoader(opts).Load(maps.Clone(m)); err != nil {
		t.Fatal(err)
	}
	if n := evals.Load(); n != 0 {
		t.Errorf("a new loader evaluated %d sites; want every one from the cache", n)
	}
}
