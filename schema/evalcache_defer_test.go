package schema_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgectl/edge/schema"
)

// TestEvalCacheDeferredWrite: with DeferCacheWrite a load writes no cache file; WriteEvalCache
// does, once, and a new Loader then evaluates nothing. A second load without WriteEvalCache
// writes the first one's at its start.
func TestEvalCacheDeferredWrite(t *testing.T) {
	dir, cache := materialize(t, goldenCaseNamed(t, "valid", "full")), t.TempDir()
	rec := recordEvaluations(t)
	name := filepath.Join(cache, schema.EvalCacheFile)
	l := schema.NewLoader(schema.LoaderOptions{CacheDir: cache, DeferCacheWrite: true, Now: func() time.Time { return goldenNow }})
	if _, err := l.Load(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("cache file after a deferred load: %v; want none yet", err)
	}
	l.WriteEvalCache()
	if err := l.EvalCacheError(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name); err != nil {
		t.Fatalf("cache file after WriteEvalCache: %v", err)
	}
	rec.take()
	wantEvaluated(t, rec, dir, cache)

	// Not told: the next load writes it first.
	cache2 := t.TempDir()
	l2 := schema.NewLoader(schema.LoaderOptions{CacheDir: cache2, DeferCacheWrite: true, Now: func() time.Time { return goldenNow }})
	for range 2 {
		if _, err := l2.Load(os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(cache2, schema.EvalCacheFile)); err != nil {
		t.Fatalf("cache file after a second deferred load: %v", err)
	}
	rec.take()
	wantEvaluated(t, rec, dir, cache2)
}
