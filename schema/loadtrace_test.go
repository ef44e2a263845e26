package schema

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"
)

// traced loads fsys with l under a LoadTrace and returns the load's result and the key
// paths SiteKey reported, sorted.
func traced(t *testing.T, l *Loader, fsys fstest.MapFS) (*Config, error, []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	ctx := WithLoadTrace(context.Background(), &LoadTrace{SiteKey: func(k KeyRef) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, k.Path)
	}})
	cfg, err := l.LoadContext(ctx, fsys)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(got)
	return cfg, err, got
}

// TestLoadTraceReportsSiteKeys: SiteKey is called once with the key of every site file that
// evaluated without an error and names a key, including when another file fails the
// load, which still reports that file at its position; a passthrough site and a broken one
// report none, and a load without a trace calls nothing.
func TestLoadTraceReportsSiteKeys(t *testing.T) {
	fsys := testRepo(t)
	fsys["sites/pt.cue"] = &fstest.MapFile{Data: []byte("package edge\n\nsites: pt: {\n\thosts: [\"pt.example\"]\n\tpassthrough: upstreams: [\"127.0.0.1:9443\"]\n}\n")}
	l := NewLoader(LoaderOptions{Now: func() time.Time { return testNow }, Workers: 2})

	cfg, err, got := traced(t, l, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sites) != 4 {
		t.Fatalf("%d sites; want 4", len(cfg.Sites))
	}
	if want := []string{"edge/a", "edge/b", "edge/c"}; !slices.Equal(got, want) {
		t.Errorf("SiteKey reported %q; want %q", got, want)
	}

	// A broken file: the load (a new loader's: every file evaluated) fails at its
	// position, and the good sites are still reported.
	fsys["sites/b.cue"] = &fstest.MapFile{Data: []byte("package edge\nsites: b: hosts: 1\n")}
	_, err, got = traced(t, NewLoader(LoaderOptions{Now: func() time.Time { return testNow }}), fsys)
	var ds Diagnostics
	if !errors.As(err, &ds) || !strings.Contains(ds.Error(), "sites/b.cue:2:18") {
		t.Fatalf("invalid b: got %v; want a diagnostic at sites/b.cue:2:18", err)
	}
	if want := []string{"edge/a", "edge/c"}; !slices.Equal(got, want) {
		t.Errorf("with b broken, SiteKey reported %q; want %q", got, want)
	}

	// A load without a trace calls no hook of an earlier load's, though a file is evaluated
	// again.
	var calls atomic.Int32
	ctx := WithLoadTrace(context.Background(), &LoadTrace{SiteKey: func(KeyRef) { calls.Add(1) }})
	if _, err := l.LoadContext(ctx, fsys); err == nil || calls.Load() != 2 {
		t.Fatalf("traced load with b broken: err %v, %d SiteKey calls; want an error and 2", err, calls.Load())
	}
	fsys["sites/a.cue"] = &fstest.MapFile{Data: siteSrc("a", "a.example", "certs/a.pem", "http://127.0.0.1:4001")}
	if _, err := l.Load(fsys); err == nil {
		t.Fatal("the load with b broken succeeded")
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("a load without a trace made %d SiteKey calls of the earlier load's", n-2)
	}
}
