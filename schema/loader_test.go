package schema

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

var testNow = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

func siteSrc(name, host, cert, upstream string) []byte {
	return fmt.Appendf(nil, "package edge\n\nsites: %s: {\n\thosts: [%q]\n\tcert: %q\n\tkey: path: \"edge/%s\"\n\troutes: \"/\": upstreams: [%q]\n}\n",
		CUELabel(name), host, cert, name, upstream)
}

func testRepo(t testing.TB) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, c := range []string{"a", "b", "c", "soon", "expired"} {
		b, err := os.ReadFile("testdata/certs/" + c + ".pem")
		if err != nil {
			t.Fatal(err)
		}
		fsys["certs/"+c+".pem"] = &fstest.MapFile{Data: b}
	}
	fsys["sites/a.cue"] = &fstest.MapFile{Data: siteSrc("a", "a.example", "certs/a.pem", "http://127.0.0.1:3001")}
	fsys["sites/b.cue"] = &fstest.MapFile{Data: siteSrc("b", "b.example", "certs/b.pem", "http://127.0.0.1:3002")}
	fsys["sites/c.cue"] = &fstest.MapFile{Data: siteSrc("c", "c.example", "certs/c.pem", "http://127.0.0.1:3003")}
	return fsys
}

func TestLoaderReusesUnchangedFiles(t *testing.T) {
	fsys := testRepo(t)
	l := NewLoader(LoaderOptions{Now: func() time.Time { return testNow }})
	cfg1, err := l.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	resA, resB := l.sites["sites/a.cue"], l.sites["sites/b.cue"]

	// Change b only.
	fsys["sites/b.cue"] = &fstest.MapFile{Data: siteSrc("b", "b.example", "certs/b.pem", "http://127.0.0.1:4002")}
	cfg2, err := l.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if cfg1.Sites[0] != cfg2.Sites[0] {
		t.Error("unchanged site a is a new *Site; want the same value reused")
	}
	if l.sites["sites/a.cue"] != resA {
		t.Error("unchanged sites/a.cue was evaluated again")
	}
	if l.sites["sites/b.cue"] == resB {
		t.Error("changed sites/b.cue was not evaluated again")
	}
	if cfg1.Sites[0].Digest != cfg2.Sites[0].Digest || cfg1.Sites[1].Digest == cfg2.Sites[1].Digest {
		t.Errorf("digests: a %v→%v, b %v→%v; want a equal, b different", cfg1.Sites[0].Digest[:8], cfg2.Sites[0].Digest[:8], cfg1.Sites[1].Digest[:8], cfg2.Sites[1].Digest[:8])
	}
	if got := cfg2.Sites[1].Routes[0].Upstreams[0].String(); got != "http://127.0.0.1:4002" {
		t.Errorf("b upstream: %q", got)
	}

	// A repo-level file changes every digest (sites inherit its defaults) and its defaults.
	fsys["edge.cue"] = &fstest.MapFile{Data: []byte("package edge\ndefaults: timeouts: connect: \"3s\"\n")}
	cfg3, err := l.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if cfg3.Sites[0].Digest == cfg2.Sites[0].Digest {
		t.Error("edge.cue changed but site a's digest did not")
	}
	if got := cfg3.Sites[0].Routes[0].Timeouts.Connect; got != 3*time.Second {
		t.Errorf("connect timeout from defaults: %v; want 3s", got)
	}

	// A removed site is forgotten; an invalid change is reported and cached too.
	delete(fsys, "sites/c.cue")
	fsys["sites/b.cue"] = &fstest.MapFile{Data: []byte("package edge\nsites: b: hosts: 1\n")}
	_, err = l.Load(fsys)
	var ds Diagnostics
	if !errors.As(err, &ds) || !strings.Contains(ds.Error(), "sites/b.cue:2:18") {
		t.Fatalf("invalid b: got %v; want a diagnostic at sites/b.cue:2:18", err)
	}
	if _, ok := l.sites["sites/c.cue"]; ok {
		t.Error("removed sites/c.cue is still cached")
	}
}

func TestLoaderExpiryOptions(t *testing.T) {
	fsys := testRepo(t)
	fsys["sites/s.cue"] = &fstest.MapFile{Data: siteSrc("s", "soon.example", "certs/soon.pem", "http://127.0.0.1:1")}
	fsys["sites/e.cue"] = &fstest.MapFile{Data: siteSrc("e", "expired.example", "certs/expired.pem", "http://127.0.0.1:1")}
	now := func() time.Time { return testNow }
	tests := []struct {
		name      string
		opts      LoaderOptions
		wantValid bool
		want      []string
	}{
		{"defaults", LoaderOptions{Now: now}, false, []string{"sites/e.cue:5:2: error: certs/expired.pem: certificate expired", "sites/s.cue:5:2: warning: certs/soon.pem: certificate expires"}},
		{"lenient", LoaderOptions{Now: now, LenientExpiry: true}, true, []string{"sites/e.cue:5:2: warning: certs/expired.pem", "sites/s.cue:5:2: warning"}},
		{"error window", LoaderOptions{Now: now, CertErrorWithin: 14 * 24 * time.Hour, LenientExpiry: false}, false, []string{"sites/s.cue:5:2: error: certs/soon.pem: certificate expires at 2027-01-11T00:00:00Z, within 14d"}},
		{"no warning", LoaderOptions{Now: now, CertWarnWithin: -1, LenientExpiry: true}, true, []string{"sites/e.cue:5:2: warning"}},
	}
	for _, tt := range tests {
		cfg, err := NewLoader(tt.opts).Load(fsys)
		var out string
		if err != nil {
			out = err.Error()
		} else {
			out = cfg.Warnings.Error()
		}
		if (err == nil) != tt.wantValid {
			t.Errorf("%s: valid %v; want %v:\n%s", tt.name, err == nil, tt.wantValid, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.name, w, out)
			}
		}
		if tt.name == "no warning" && strings.Contains(out, "soon.pem") {
			t.Errorf("%s: soon.pem still warned about:\n%s", tt.name, out)
		}
	}
}

// TestLoaderMemoryIsFlat loads a 300-site repo 30 times, changing one site each time, and
// checks the live heap does not grow from load to load (CUE state is dropped per load).
func TestLoaderMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	fsys := testRepo(t)
	cert := fsys["certs/a.pem"]
	for i := 0; i < 300; i++ {
		n := fmt.Sprintf("s%03d", i)
		fsys["certs/"+n+".pem"] = cert
		fsys["sites/"+n+".cue"] = &fstest.MapFile{Data: siteSrc(n, fmt.Sprintf("x%d.a.example", i), "certs/"+n+".pem", "http://127.0.0.1:3001")}
	}
	delete(fsys, "sites/a.cue")
	l := NewLoader(LoaderOptions{Now: func() time.Time { return testNow }})
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var after []uint64
	for i := 0; i < 30; i++ {
		fsys["sites/s007.cue"] = &fstest.MapFile{Data: append(siteSrc("s007", "x7.a.example", "certs/s007.pem", "http://127.0.0.1:3001"), fmt.Sprintf("// %d\n", i)...)}
		if _, err := l.Load(fsys); err != nil {
			t.Fatal(err)
		}
		after = append(after, heap())
	}
	t.Logf("live heap after load 1: %d KiB, 5: %d KiB, 30: %d KiB", after[0]>>10, after[4]>>10, after[29]>>10)
	if after[29] > after[4]+after[4]/4 {
		t.Errorf("heap grew from %d KiB (load 5) to %d KiB (load 30)", after[4]>>10, after[29]>>10)
	}
}
