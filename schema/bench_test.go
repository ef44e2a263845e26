package schema_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/edgectl/edge/reconcile/gitsource"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
)

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

// benchRepo generates (once per process) a repo of 10,000 sites.
func benchRepo(b *testing.B) string {
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "edge-bench-")
		if benchErr == nil {
			_, benchErr = sitegen.WriteRepo(benchDir, 10000, sitegen.Options{})
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

// BenchmarkValidate loads a 10,000-site repo cold: a new Loader each time, nothing cached.
func BenchmarkValidate(b *testing.B) {
	fsys := os.DirFS(benchRepo(b))
	b.ResetTimer()
	for b.Loop() {
		cfg, err := schema.NewLoader(schema.LoaderOptions{}).Load(fsys)
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Sites) != 10000 {
			b.Fatalf("sites: %d", len(cfg.Sites))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/10000, "µs/site")
}

// BenchmarkRevalidateOneSite changes one site of the 10,000 and loads again with a warm
// Loader: the work an agent does on a poll that brings a one-site commit.
func BenchmarkRevalidateOneSite(b *testing.B) {
	dir := benchRepo(b)
	fsys := os.DirFS(dir)
	l := schema.NewLoader(schema.LoaderOptions{})
	if _, err := l.Load(fsys); err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(dir, "sites", sitegen.SiteName(42)+".cue")
	orig, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	defer os.WriteFile(file, orig, 0o644)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		changed := append([]byte(nil), orig...)
		changed = append(changed, fmt.Sprintf("// change %d\n", i)...)
		if err := os.WriteFile(file, changed, 0o644); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := l.Load(fsys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadHeap loads the 10,000-site repo repeatedly with one Loader and reports the
// live heap after the first and the last load: it must stay flat (TestLoaderMemoryIsFlat
// checks the same with a changed site per load).
func BenchmarkLoadHeap(b *testing.B) {
	dir := benchRepo(b)
	fsys := os.DirFS(dir)
	l := schema.NewLoader(schema.LoaderOptions{})
	var ms runtime.MemStats
	var first uint64
	for i := 0; b.Loop(); i++ {
		if _, err := l.Load(fsys); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if i == 0 {
			first = ms.HeapAlloc
		}
	}
	b.ReportMetric(float64(first)/(1<<20), "MiB-heap-first")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MiB-heap-last")
}

// memRepo reads the benchmark repo into an in-memory file system, as the agent's git
// revisions are.
func memRepo(b *testing.B) fstest.MapFS {
	dir := benchRepo(b)
	fsys := fstest.MapFS{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		fsys[filepath.ToSlash(rel)] = &fstest.MapFile{Data: data, Mode: 0o644}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return fsys
}

// BenchmarkRevalidateOneSiteMem is BenchmarkRevalidateOneSite over an in-memory file
// system (the agent reads revisions from memory, not from disk).
func BenchmarkRevalidateOneSiteMem(b *testing.B) {
	fsys := memRepo(b)
	l := schema.NewLoader(schema.LoaderOptions{})
	if _, err := l.Load(fsys); err != nil {
		b.Fatal(err)
	}
	name := "sites/" + sitegen.SiteName(42) + ".cue"
	orig := fsys[name].Data
	i := 0
	for b.Loop() {
		i++
		fsys[name] = &fstest.MapFile{Data: fmt.Appendf(append([]byte(nil), orig...), "// change %d\n", i), Mode: 0o644}
		if _, err := l.Load(fsys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRevalidateOneSiteGit loads two git revisions of the 10,000-site repo that differ
// in one site, alternately, with one warm Loader: exactly what the agent does when a
// one-site commit arrives (gitsource.TreeFS, a HashFS that knows its blob hashes).
func BenchmarkRevalidateOneSiteGit(b *testing.B) {
	dir, git := benchGitRepo(b)
	file := filepath.Join(dir, "sites", sitegen.SiteName(42)+".cue")
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	f.WriteString("// changed\n")
	f.Close()
	git("commit", "-qam", "change one site")
	ctx := context.Background()
	var revs [2]*gitsource.Revision
	for i, rev := range []string{"HEAD~1", "HEAD"} {
		if revs[i], err = gitsource.ReadRevision(ctx, dir, rev, ""); err != nil {
			b.Fatal(err)
		}
	}
	l := schema.NewLoader(schema.LoaderOptions{})
	if _, err := l.Load(revs[0].FS); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if _, err := l.Load(revs[i%2].FS); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWarmLoadHeap loads the 10,000-site repo with a new Loader on a warm evaluation
// cache (a restart) and reports the live heap the Loader and the Config hold after it.
func BenchmarkWarmLoadHeap(b *testing.B) {
	fsys := os.DirFS(benchRepo(b))
	cache := b.TempDir()
	if _, err := schema.NewLoader(schema.LoaderOptions{CacheDir: cache}).Load(fsys); err != nil {
		b.Fatal(err)
	}
	var ms runtime.MemStats
	var live float64
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		l := schema.NewLoader(schema.LoaderOptions{CacheDir: cache})
		cfg, err := l.Load(fsys)
		if err != nil || len(cfg.Sites) != 10000 {
			b.Fatalf("%v, %d sites", err, len(cfg.Sites))
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		live = float64(ms.HeapAlloc-before) / (1 << 20)
		runtime.KeepAlive(l)
		runtime.KeepAlive(cfg)
	}
	b.ReportMetric(live, "MiB-live")
}

// benchGitRepo copies the 10,000-site bench repo (benchRepo) into a fresh directory, commits
// it there as one revision and returns the directory and a git runner in it. Without git
// the benchmark is skipped.
func benchGitRepo(b *testing.B) (string, func(args ...string)) {
	gitBin, err := exec.LookPath("git")
	if err != nil {
		b.Skip("git not installed")
	}
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS(benchRepo(b))); err != nil {
		b.Fatal(err)
	}
	git := func(args ...string) {
		cmd := exec.Command(gitBin, append([]string{"-c", "user.name=bench", "-c", "user.email=bench@example.test"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("config", "gc.auto", "0")
	git("add", "-A")
	git("commit", "-qm", "base")
	return dir, git
}
