package schema_test

import (
	"crypto/sha1"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
)

// readCountingFS counts the files read through it.
type readCountingFS struct {
	fstest.MapFS
	mu    sync.Mutex
	reads map[string]int
}

func (c *readCountingFS) count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads[name]++
}

func (c *readCountingFS) Open(name string) (fs.File, error) {
	c.count(name)
	return c.MapFS.Open(name)
}

func (c *readCountingFS) ReadFile(name string) ([]byte, error) {
	c.count(name)
	return c.MapFS.ReadFile(name)
}

// hashingFS is a schema.HashFS whose hashes are given, not computed from the content.
type hashingFS struct {
	*readCountingFS
	hashes map[string][]byte
}

func (h hashingFS) FileHash(name string) ([]byte, bool) {
	sum, ok := h.hashes[name]
	return sum, ok
}

// TestLoaderUsesHashFS: given a HashFS, the loader tells unchanged files by their hash and
// does not read them again; given another fs.FS, it reads every file each time.
func TestLoaderUsesHashFS(t *testing.T) {
	g, files, hashes := acmeSiteFiles(t)
	load := func(l *schema.Loader, fsys fs.FS) {
		t.Helper()
		cfg, err := l.Load(fsys)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Sites) != 1 || cfg.Sites[0].Name != "acme" {
			t.Fatalf("sites %v; want acme", cfg.Sites)
		}
	}

	plain := &readCountingFS{MapFS: files, reads: map[string]int{}}
	l := schema.NewLoader(schema.LoaderOptions{})
	load(l, plain)
	load(l, plain)
	if n := plain.reads[g.File]; n != 2 {
		t.Errorf("plain fs.FS: %s read %d times in two loads; want 2", g.File, n)
	}

	hashed := hashingFS{&readCountingFS{MapFS: files, reads: map[string]int{}}, hashes}
	var _ schema.HashFS = hashed
	l = schema.NewLoader(schema.LoaderOptions{})
	load(l, hashed)
	load(l, hashed)
	if n, m := hashed.reads[g.File], hashed.reads[g.CertFile]; n != 1 || m != 1 {
		t.Errorf("HashFS: %s read %d times, %s %d times in two loads; want once each", g.File, n, g.CertFile, m)
	}
	// The hash is trusted: content behind an unchanged hash is not even read.
	files[g.File] = &fstest.MapFile{Data: []byte("not CUE at all")}
	load(l, hashed)
	if n := hashed.reads[g.File]; n != 1 {
		t.Errorf("HashFS: %s read %d times with its hash unchanged; want still 1", g.File, n)
	}
}

// acmeSiteFiles generates one site ("acme") with a certificate of a fresh test CA, and
// returns its files in memory with their SHA-1 sums.
func acmeSiteFiles(t *testing.T) (*sitegen.Generated, fstest.MapFS, map[string][]byte) {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	g, err := sitegen.WriteSite(dir, sitegen.Site{Name: "acme", Hosts: []string{"acme.example.test"},
		Upstreams: []string{"http://127.0.0.1:3001"}}, sitegen.Options{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{}
	hashes := map[string][]byte{}
	for _, f := range []string{g.File, g.CertFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = &fstest.MapFile{Data: b}
		sum := sha1.Sum(b)
		hashes[f] = sum[:]
	}
	return g, files, hashes
}
