package schema_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/edgectl/edge/schema"
)

// loadAhead loads dir with a new Loader on cache that read its cache file ahead
// (ReadEvalCacheAhead, twice: the second does nothing) and wants exactly files evaluated.
func loadAhead(t *testing.T, rec *evalRecorder, dir, cache string, files ...string) *schema.Config {
	t.Helper()
	l := schema.NewLoader(schema.LoaderOptions{CacheDir: cache, Now: func() time.Time { return goldenNow }})
	l.ReadEvalCacheAhead()
	l.ReadEvalCacheAhead()
	cfg, err := l.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if cerr := l.EvalCacheError(); cerr != nil {
		t.Fatalf("writing the cache: %v", cerr)
	}
	if got := rec.take(); !slices.Equal(got, files) {
		t.Fatalf("evaluated %v, want %v", got, files)
	}
	l.ReadEvalCacheAhead() // after a load: nothing to read
	if again, err := l.Load(os.DirFS(dir)); err != nil || !reflect.DeepEqual(again, cfg) {
		t.Fatalf("second load: %v; want the same config", err)
	}
	return cfg
}

// TestEvalCacheReadAhead: a cache read ahead of the first load serves that load as one
// read by the load itself: unchanged sites are not evaluated, a changed one is, and the
// config is the same as a cold load's.
func TestEvalCacheReadAhead(t *testing.T) {
	dir, cache, rec := warmFull(t)
	cold, err := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return goldenNow }}).Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	rec.take()
	if warm := loadAhead(t, rec, dir, cache); !reflect.DeepEqual(warm, cold) {
		t.Fatalf("config read with the cache read ahead differs from a cold load's:\ncold %+v\nwarm %+v", cold, warm)
	}
	appendFile(t, filepath.Join(dir, "sites", "b.cue"), "\n// changed\n")
	loadAhead(t, rec, dir, cache, "sites/b.cue")
	loadAhead(t, rec, dir, cache)
}

// TestEvalCacheReadAheadNoFile: reading ahead a cache directory without a cache file
// evaluates everything, and the load writes the file.
func TestEvalCacheReadAheadNoFile(t *testing.T) {
	dir, _, rec := warmFull(t)
	cache := t.TempDir()
	loadAhead(t, rec, dir, cache, "sites/a.cue", "sites/b.cue", "sites/r.cue", "sites/s.cue")
	loadAhead(t, rec, dir, cache)
}
