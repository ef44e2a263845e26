package schema_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
)

// loadBoth loads dir in this process and isolated and fails the test if they differ.
func loadBoth(t *testing.T, fsys fs.FS, iso schema.Isolation) *schema.Config {
	t.Helper()
	now := func() time.Time { return schema.TestNow }
	want, werr := schema.NewLoader(schema.LoaderOptions{Now: now}).Load(fsys)
	iso.Enabled = true
	got, gerr := schema.NewLoader(schema.LoaderOptions{Now: now, Isolation: iso, Workers: 2}).Load(fsys)
	if !reflect.DeepEqual(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("isolated load differs:\n%v\n%v\nin-process:\n%v\n%v", got, gerr, want, werr)
	}
	return got
}

func TestIsolatedLoadEqualsInProcess(t *testing.T) {
	for _, kind := range []string{"valid", "invalid"} {
		for _, c := range goldenCases(t, kind) {
			t.Run(c.name, func(t *testing.T) {
				dir := t.TempDir()
				c.writeRepo(t, dir)
				loadBoth(t, os.DirFS(dir), schema.Isolation{})
			})
		}
	}
}

// genRepo writes a repo of n generated sites.
func genRepo(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := sitegen.WriteRepo(dir, n, sitegen.Options{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestIsolatedWorkerKilled kills the worker with SIGKILL after its first answer: a fresh
// worker takes the remaining files and the load gives the in-process result.
func TestIsolatedWorkerKilled(t *testing.T) {
	schema.DisableFastPath(t) // the files must go to workers
	dir := genRepo(t, 30)
	var spawned atomic.Int32
	var once sync.Once
	schema.SetIsolationHooks(t, func(int) { spawned.Add(1) }, func(pid int) { once.Do(func() { syscall.Kill(pid, syscall.SIGKILL) }) })
	cfg := loadBoth(t, os.DirFS(dir), schema.Isolation{})
	if len(cfg.Sites) != 30 {
		t.Errorf("%d sites; want 30", len(cfg.Sites))
	}
	if n := spawned.Load(); n < 3 {
		t.Errorf("%d workers started; want 2 and a replacement", n)
	}
}

// TestIsolatedCancel cancels a load after the first answer: it returns the context's error
// and leaves no child process behind.
func TestIsolatedCancel(t *testing.T) {
	schema.DisableFastPath(t) // the files must go to workers
	if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d/children", os.Getpid())); err != nil {
		t.Skipf("no /proc children lists: %v", err)
	}
	dir := genRepo(t, 200)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var spawned atomic.Int32
	schema.SetIsolationHooks(t, func(int) { spawned.Add(1) }, func(int) { cancel() })
	l := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return schema.TestNow }, Isolation: schema.Isolation{Enabled: true}, Workers: 2})
	cfg, err := l.LoadContext(ctx, os.DirFS(dir))
	if cfg != nil || !errors.Is(err, context.Canceled) || !errors.Is(err, schema.ErrLoadCancelled) {
		t.Fatalf("got %v, %v; want a cancelled load", cfg, err)
	}
	if spawned.Load() == 0 {
		t.Fatal("no worker started")
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("child processes left after a cancelled load: %v", kids)
	}
	if n := schema.CachedSites(l); n >= 200 {
		t.Errorf("%d results cached from a cancelled load; want only files answered before it", n)
	}
	// The same loader then loads the repo fully.
	schema.SetIsolationHooks(t, nil, nil)
	cfg, err = l.Load(os.DirFS(dir))
	if err != nil || len(cfg.Sites) != 200 {
		t.Fatalf("load after a cancelled one: %v sites, %v", cfg, err)
	}
}

// children lists the pids of this process's children (from every thread's list).
func children(t *testing.T) []string {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", task.Name(), "children"))
		if err != nil {
			continue // the thread is gone
		}
		kids = append(kids, strings.Fields(string(b))...)
	}
	return kids
}

// TestIsolationNeedsWorkerEntry: an executable that does not serve as a worker is reported,
// not cached, and does not hang the load.
func TestIsolationNeedsWorkerEntry(t *testing.T) {
	schema.DisableFastPath(t) // the files must go to workers
	fsys := os.DirFS(genRepo(t, 3))
	l := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return schema.TestNow }, Isolation: schema.Isolation{Enabled: true, Executable: "/bin/true"}})
	_, err := l.Load(fsys)
	var ds schema.Diagnostics
	if !errors.As(err, &ds) || len(ds) == 0 || !strings.Contains(ds[0].Message, "RunEvalWorkerIfRequested") {
		t.Fatalf("got %v; want diagnostics saying the executable is no worker", err)
	}
	if schema.CachedSites(l) != 0 {
		t.Errorf("%d results cached; want none (not the files' fault)", schema.CachedSites(l))
	}
}

// TestIsolatedGeneratedEqualsInProcess compares the declarations of a generated repo's
// files (with a policy whose allowed_upstreams hold networks, addresses and names).
func TestIsolatedGeneratedEqualsInProcess(t *testing.T) {
	dir := t.TempDir()
	repoFile := "package edge\n\npolicy: allowed_upstreams: [\"127.0.0.0/8\", \"::1\", \"*.internal\"]\ndefaults: hsts: {include_subdomains: false, max_age: \"0s\"}\n"
	if _, err := sitegen.WriteRepo(dir, 5, sitegen.Options{RepoFile: repoFile}); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range []string{"edge.cue", "sites/site00000.cue", "sites/site00003.cue"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	if n := schema.CompareIsolated(t, files); n != 3 {
		t.Errorf("%d of 3 files evaluated to a declaration", n)
	}
	loadBoth(t, os.DirFS(dir), schema.Isolation{})
}
