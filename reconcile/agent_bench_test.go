package reconcile_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testenv"
)

// benchRepo writes a config repo of n sites (keys in a key directory) and commits it.
func benchRepo(tb testing.TB, n int) (dir, keyDir string) {
	tb.Helper()
	root := tb.TempDir()
	dir, keyDir = filepath.Join(root, "repo"), filepath.Join(root, "keys")
	if err := os.Mkdir(keyDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if _, err := sitegen.WriteRepo(dir, n, sitegen.Options{KeyDir: keyDir}); err != nil {
		tb.Fatal(err)
	}
	gitRun(tb, dir, "init", "-q", "-b", "main")
	// No background "git gc --auto" (20,000 new loose objects trigger one) racing the
	// temporary directory's removal.
	gitRun(tb, dir, "config", "gc.auto", "0")
	gitCommit(tb, dir, "init")
	return dir, keyDir
}

func gitRun(tb testing.TB, dir string, args ...string) {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func gitCommit(tb testing.TB, dir, msg string) {
	gitRun(tb, dir, "add", "-A")
	gitRun(tb, dir, "commit", "-q", "-m", msg)
}

// benchAgent is an agent on a local repo and key directory publishing to a real edge server.
func benchAgent(tb testing.TB, src reconcile.Source, keyDir string) *reconcile.Agent {
	tb.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := edge.NewServer(edge.Options{Listen: "127.0.0.1:0", HTTPListen: edge.Off, AdminListen: edge.Off, Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cancel(); _ = srv.Shutdown(context.Background()) })
	state, _ := src.(reconcile.StateStore) // (a GitSource without a StateDir keeps nothing)
	a, err := reconcile.NewAgent(reconcile.AgentOptions{
		Source: src, Loader: schema.NewLoader(schema.LoaderOptions{LenientExpiry: true}), State: state,
		Keys: keysource.Dir{Dir: keyDir}, Publisher: srv, Logger: quiet,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func gitSource(tb testing.TB, dir string) reconcile.Source {
	src, err := gitsource.New(gitsource.Options{URL: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

// BenchmarkAgentColdCompile10k: clone, validate, read 10,000 keys from the key directory,
// compile and publish 10,000 sites, from nothing.
func BenchmarkAgentColdCompile10k(b *testing.B) {
	dir, keyDir := benchRepo(b, 10000)
	b.ResetTimer()
	for b.Loop() {
		a := benchAgent(b, gitSource(b, dir), keyDir)
		if err := a.Step(context.Background()); err != nil {
			b.Fatal(err)
		}
		if st := a.Status(); st.LastPoll.Outcome != "applied" {
			b.Fatalf("outcome %s", st.LastPoll.Outcome)
		}
	}
}

// BenchmarkAgentOneSiteChange10k: one site changed among 10,000, from poll to published
// snapshot (the commit itself is not timed).
func BenchmarkAgentOneSiteChange10k(b *testing.B) {
	dir, keyDir := benchRepo(b, 10000)
	// Over smart HTTP (git http-backend), as in production.
	bare := filepath.Join(b.TempDir(), "config.git")
	gitRun(b, dir, "clone", "-q", "--bare", dir, bare)
	gitRun(b, dir, "remote", "add", "origin", bare)
	srv := testenv.StartGitHTTP(b, bare, nil)
	timed := &timedSource{Source: gitSource(b, srv.URL)}
	a := benchAgent(b, timed, keyDir)
	if err := a.Step(context.Background()); err != nil {
		b.Fatal(err)
	}
	site := filepath.Join(dir, "sites", sitegen.SiteName(42)+".cue")
	orig, err := os.ReadFile(site)
	if err != nil {
		b.Fatal(err)
	}
	timed.total = 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if err := os.WriteFile(site, fmt.Appendf(nil, "%s\n// change %d\n", orig, i), 0o644); err != nil {
			b.Fatal(err)
		}
		gitCommit(b, dir, fmt.Sprint("change ", i))
		gitRun(b, dir, "push", "-q", "origin", "HEAD:main")
		b.StartTimer()
		if err := a.Step(context.Background()); err != nil {
			b.Fatal(err)
		}
		if st := a.Status(); st.LastPoll.Outcome != "applied" {
			b.Fatalf("outcome %s", st.LastPoll.Outcome)
		}
	}
	// poll-ms is mostly the git server's time (here git http-backend on the same 2 cores);
	// apply-ms is the agent's own: validate, compile the changed site, build and swap.
	b.ReportMetric(float64(timed.total.Microseconds())/1000/float64(b.N), "poll-ms/op")
	b.ReportMetric((float64(b.Elapsed().Microseconds())-float64(timed.total.Microseconds()))/1000/float64(b.N), "apply-ms/op")
}

// timedSource adds up the time spent in Poll (git) to tell it apart from validate+compile.
type timedSource struct {
	reconcile.Source
	total time.Duration
}

func (s *timedSource) Poll(ctx context.Context) (*gitsource.Revision, bool, error) {
	start := time.Now()
	defer func() { s.total += time.Since(start) }()
	return s.Source.Poll(ctx)
}

// alternating is a Source flipping between two real revisions of a repo, so a test can run
// a thousand reconciles without a thousand commits.
type alternating struct {
	revs [2]*gitsource.Revision
	n    int
}

func (s *alternating) Poll(context.Context) (*gitsource.Revision, bool, error) {
	s.n++
	return s.revs[s.n%2], true, nil
}

// TestAgentMemoryIsFlat runs 1,000 reconciles, each changing one site, and compares the live
// heap after 10 with the live heap after 1,000.
func TestAgentMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("long: 1,000 reconciles")
	}
	dir, keyDir := benchRepo(t, 200)
	site := filepath.Join(dir, "sites", sitegen.SiteName(7)+".cue")
	orig, _ := os.ReadFile(site)
	if err := os.WriteFile(site, append(orig, "\n// second\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCommit(t, dir, "second")
	src := &alternating{}
	for i, rev := range []string{"HEAD~1", "HEAD"} {
		r, err := gitsource.ReadRevision(context.Background(), dir, rev, "")
		if err != nil {
			t.Fatal(err)
		}
		src.revs[i] = r
	}
	a := benchAgent(t, src, keyDir)
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var after10 uint64
	start := time.Now()
	for i := 1; i <= 1000; i++ {
		if err := a.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
		if o := a.Status().LastPoll.Outcome; o != "applied" {
			t.Fatalf("reconcile %d: outcome %s", i, o)
		}
		if i == 10 {
			after10 = heap()
		}
	}
	after1000 := heap()
	t.Logf("live heap after 10 reconciles: %.1f MiB; after 1,000: %.1f MiB (%d reconciles of 200 sites in %v)",
		float64(after10)/(1<<20), float64(after1000)/(1<<20), 1000, time.Since(start).Round(time.Millisecond))
	if after1000 > after10+after10/4 {
		t.Errorf("live heap grew from %d to %d bytes over 990 reconciles; want flat (within 25%%)", after10, after1000)
	}
}

// BenchmarkAgentColdCompile10kVault: as BenchmarkAgentColdCompile10k, with the 10,000 keys
// read from a real Vault server (KV v2, at most 8 reads in flight).
func BenchmarkAgentColdCompile10kVault(b *testing.B) {
	dir, keyDir := benchRepo(b, 10000)
	vault := testenv.StartVault(b)
	// Copy every key of the key directory into Vault at the same reference.
	type kv struct{ path, pem string }
	work := make(chan kv)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for w := range work {
				if err == nil {
					_, err = vault.Client.KVv2("secret").Put(context.Background(), w.path, map[string]any{"key": w.pem})
				}
			}
			errs <- err
		}()
	}
	root := filepath.Join(keyDir, "secret")
	walkErr := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		pem, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		work <- kv{filepath.ToSlash(rel), string(pem)}
		return nil
	})
	close(work)
	for range 8 {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	if walkErr != nil {
		b.Fatal(walkErr)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.ResetTimer()
	for b.Loop() {
		keys, err := keysource.NewVault(context.Background(), keysource.VaultConfig{Address: vault.Addr, Token: vault.Token, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		srv := edge.NewServer(edge.Options{Listen: "127.0.0.1:0", HTTPListen: edge.Off, AdminListen: edge.Off, Logger: quiet})
		a, err := reconcile.NewAgent(reconcile.AgentOptions{
			Source: gitSource(b, dir), Loader: schema.NewLoader(schema.LoaderOptions{LenientExpiry: true}),
			Keys: keys, Publisher: srv, Logger: quiet,
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Step(context.Background()); err != nil {
			b.Fatal(err)
		}
		if st := a.Status(); st.LastPoll.Outcome != "applied" || len(st.Sites) != 10000 {
			b.Fatalf("outcome %s with %d sites", st.LastPoll.Outcome, len(st.Sites))
		}
		keys.Close()
	}
}
