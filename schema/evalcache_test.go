package schema_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/schema"
)

// evalRecorder records the site files loads evaluate.
type evalRecorder struct {
	mu    sync.Mutex
	files []string
}

func recordEvaluations(t *testing.T) *evalRecorder {
	r := &evalRecorder{}
	schema.SetEvaluatingHook(t, func(file string) {
		r.mu.Lock()
		r.files = append(r.files, file)
		r.mu.Unlock()
	})
	return r
}

// take returns the files evaluated since the last take, sorted.
func (r *evalRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.files
	r.files = nil
	slices.Sort(f)
	return f
}

// loadCached loads dir with a fresh Loader (a new process, as far as caches go) keeping
// evaluations in cache.
func loadCached(t *testing.T, dir, cache string) (*schema.Config, error) {
	t.Helper()
	l := schema.NewLoader(schema.LoaderOptions{CacheDir: cache, Now: func() time.Time { return goldenNow }})
	cfg, err := l.Load(os.DirFS(dir))
	if cerr := l.EvalCacheError(); cerr != nil {
		t.Fatalf("writing the cache: %v", cerr)
	}
	return cfg, err
}

func siteFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "sites"))
	if err != nil {
		t.Fatal(err)
	}
	var fs []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".cue") {
			fs = append(fs, "sites/"+e.Name())
		}
	}
	return fs
}

// TestEvalCacheWarmEqualsCold loads every valid golden case cold (evaluating every site)
// and then warm (a new Loader on the cache: evaluating none), and wants equal configs.
func TestEvalCacheWarmEqualsCold(t *testing.T) {
	cases := goldenCases(t, "valid")
	if len(cases) == 0 {
		t.Fatal("no valid golden cases")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, cache := materialize(t, c), t.TempDir()
			rec := recordEvaluations(t)
			cold, err := loadCached(t, dir, cache)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := rec.take(), siteFiles(t, dir); !slices.Equal(got, want) {
				t.Fatalf("cold load evaluated %v, want %v", got, want)
			}
			warm, err := loadCached(t, dir, cache)
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.take(); len(got) != 0 {
				t.Fatalf("warm load evaluated %v, want none", got)
			}
			if !reflect.DeepEqual(cold, warm) {
				t.Fatalf("warm config differs from cold:\ncold %+v\nwarm %+v", cold, warm)
			}
			for i := range cold.Sites {
				if cold.Sites[i].Digest != warm.Sites[i].Digest {
					t.Errorf("site %s: digest %s warm, %s cold", cold.Sites[i].Name, warm.Sites[i].Digest, cold.Sites[i].Digest)
				}
			}
		})
	}
}

// warmFull loads the full golden case once, filling a cache; it returns the repo and cache
// directories and the recorder, emptied.
func warmFull(t *testing.T) (dir, cache string, rec *evalRecorder) {
	t.Helper()
	dir, cache = materialize(t, goldenCaseNamed(t, "valid", "full")), t.TempDir()
	rec = recordEvaluations(t)
	if _, err := loadCached(t, dir, cache); err != nil {
		t.Fatal(err)
	}
	if len(rec.take()) != 4 {
		t.Fatal("the full case should have four site files")
	}
	return dir, cache, rec
}

func appendFile(t *testing.T, name, text string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, append(b, text...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantEvaluated loads dir with a new Loader on cache and wants exactly files evaluated.
func wantEvaluated(t *testing.T, rec *evalRecorder, dir, cache string, files ...string) *schema.Config {
	t.Helper()
	cfg, err := loadCached(t, dir, cache)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); !slices.Equal(got, files) {
		t.Fatalf("evaluated %v, want %v", got, files)
	}
	return cfg
}

func TestEvalCacheSiteChangeInvalidatesThatSite(t *testing.T) {
	dir, cache, rec := warmFull(t)
	appendFile(t, filepath.Join(dir, "sites", "b.cue"), "\n// changed\n")
	wantEvaluated(t, rec, dir, cache, "sites/b.cue")
	wantEvaluated(t, rec, dir, cache) // the new result was kept
}

func TestEvalCacheRepoFileChangeInvalidatesAll(t *testing.T) {
	dir, cache, rec := warmFull(t)
	appendFile(t, filepath.Join(dir, "edge.cue"), "\n// changed\n")
	wantEvaluated(t, rec, dir, cache, "sites/a.cue", "sites/b.cue", "sites/r.cue", "sites/s.cue")
	wantEvaluated(t, rec, dir, cache)
}

func TestEvalCacheDamagedFile(t *testing.T) {
	cacheFile := func(cache string) string { return filepath.Join(cache, schema.EvalCacheFile) }
	t.Run("flipped byte", func(t *testing.T) {
		dir, cache, rec := warmFull(t)
		b, err := os.ReadFile(cacheFile(cache))
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-2] ^= 0x20 // inside the last record's payload
		if err := os.WriteFile(cacheFile(cache), b, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := wantEvaluated(t, rec, dir, cache, "sites/s.cue")
		if len(cfg.Sites) != 4 {
			t.Fatalf("%d sites, want 4", len(cfg.Sites))
		}
		wantEvaluated(t, rec, dir, cache) // rewritten whole
	})
	t.Run("truncated", func(t *testing.T) {
		dir, cache, rec := warmFull(t)
		st, err := os.Stat(cacheFile(cache))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(cacheFile(cache), st.Size()-10); err != nil {
			t.Fatal(err)
		}
		wantEvaluated(t, rec, dir, cache, "sites/s.cue")
		wantEvaluated(t, rec, dir, cache)
	})
	t.Run("garbage", func(t *testing.T) {
		dir, cache, rec := warmFull(t)
		if err := os.WriteFile(cacheFile(cache), bytes.Repeat([]byte{0xff}, 4096), 0o600); err != nil {
			t.Fatal(err)
		}
		wantEvaluated(t, rec, dir, cache, "sites/a.cue", "sites/b.cue", "sites/r.cue", "sites/s.cue")
		wantEvaluated(t, rec, dir, cache)
	})
	t.Run("left-over temporary file", func(t *testing.T) {
		dir, cache, rec := warmFull(t)
		tmp := filepath.Join(cache, "."+schema.EvalCacheFile+"-123")
		if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
		wantEvaluated(t, rec, dir, cache)
		if _, err := os.Stat(tmp); !os.IsNotExist(err) {
			t.Fatalf("temporary file left: %v", err)
		}
	})
}

// TestEvalCacheErrorsEvaluatedAgain: a failing site is not kept, so its diagnostics (with
// their positions) come from a new evaluation each time.
func TestEvalCacheErrorsEvaluatedAgain(t *testing.T) {
	dir, cache, rec := warmFull(t)
	bad := "package edge\n\nsites: x: {\n\thosts: [\"x.example\"]\n\tcert: 42\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "sites", "x.cue"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	var first string
	for i := range 2 {
		_, err := loadCached(t, dir, cache)
		if err == nil {
			t.Fatal("want an error for sites/x.cue")
		}
		if got := rec.take(); !slices.Equal(got, []string{"sites/x.cue"}) {
			t.Fatalf("load %d evaluated %v, want only sites/x.cue", i, got)
		}
		if !strings.Contains(err.Error(), "sites/x.cue:5:") {
			t.Fatalf("error %q has no position in sites/x.cue", err)
		}
		if i == 0 {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("second load's error %q, first's %q", err, first)
		}
	}
}

// TestEvalCacheFileHoldsNoSecrets: the file is private and holds declarations (Vault
// paths), never key material.
func TestEvalCacheFileHoldsNoSecrets(t *testing.T) {
	_, cache, _ := warmFull(t)
	name := filepath.Join(cache, schema.EvalCacheFile)
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		t.Fatalf("cache file mode %v, want private", st.Mode())
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"PRIVATE KEY", "BEGIN CERTIFICATE"} {
		if bytes.Contains(b, []byte(s)) {
			t.Fatalf("cache file holds %q", s)
		}
	}
}

// TestEvalCacheKeepsSignatureChecks: a warm load does not check the chains' signatures
// again, and its config equals one loaded without a cache.
func TestEvalCacheKeepsSignatureChecks(t *testing.T) {
	var checks atomic.Int64
	schema.SetSigCheckedHook(t, func() { checks.Add(1) })
	dir, cache, rec := warmFull(t)
	if checks.Load() == 0 {
		t.Fatal("the full case's certificates should include a chain")
	}
	checks.Store(0)
	warm := wantEvaluated(t, rec, dir, cache)
	if n := checks.Load(); n != 0 {
		t.Fatalf("warm load checked %d signatures, want 0", n)
	}
	if len(warm.Sites) != 4 {
		t.Fatalf("%d sites, want 4", len(warm.Sites))
	}
	other := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return goldenNow }})
	cold, err := other.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cold, warm) {
		t.Fatal("warm config differs from one loaded without a cache")
	}
}

// BenchmarkValidateWarmEvalCache loads the 10,000-site repo with a new Loader each time on
// a warm evaluation cache (a restart): no CUE evaluation, no signature checks.
func BenchmarkValidateWarmEvalCache(b *testing.B) {
	fsys := os.DirFS(benchRepo(b))
	cache := b.TempDir()
	if _, err := schema.NewLoader(schema.LoaderOptions{CacheDir: cache}).Load(fsys); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		l := schema.NewLoader(schema.LoaderOptions{CacheDir: cache})
		cfg, err := l.Load(fsys)
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Sites) != 10000 || l.EvalCacheError() != nil {
			b.Fatalf("sites: %d, cache: %v", len(cfg.Sites), l.EvalCacheError())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/10000, "µs/site")
}
