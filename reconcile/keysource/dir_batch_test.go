package keysource_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// batchCase is one key directory entry of TestDirKeysBatchMatchesFetch and how to set it up.
type batchCase struct {
	name  string
	setup func(t *testing.T, dir string, d keysource.Dir, ref schema.KeyRef, key []byte)
}

func batchRef(name string) schema.KeyRef {
	return schema.KeyRef{Mount: "secret", Path: "edge/" + name, Field: "key"}
}

func mustPut(t *testing.T, d keysource.Dir, ref schema.KeyRef, key []byte) {
	t.Helper()
	if err := d.Put(ref, key); err != nil {
		t.Fatal(err)
	}
}

var batchCases = []batchCase{
	{"good", func(t *testing.T, _ string, d keysource.Dir, ref schema.KeyRef, key []byte) { mustPut(t, d, ref, key) }},
	{"missing", func(*testing.T, string, keysource.Dir, schema.KeyRef, []byte) {}},
	{"open-file", func(t *testing.T, dir string, d keysource.Dir, ref schema.KeyRef, key []byte) {
		mustPut(t, d, ref, key)
		f, _ := keysource.KeyFile(dir, ref)
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}},
	{"open-dir", func(t *testing.T, dir string, d keysource.Dir, ref schema.KeyRef, key []byte) {
		mustPut(t, d, ref, key)
		f, _ := keysource.KeyFile(dir, ref)
		if err := os.Chmod(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
	}},
	{"not-a-key", func(t *testing.T, _ string, d keysource.Dir, ref schema.KeyRef, _ []byte) {
		mustPut(t, d, ref, []byte("not a key\n"))
	}},
	{"link-inside", func(t *testing.T, dir string, d keysource.Dir, ref schema.KeyRef, key []byte) {
		// A relative link out of secret/edge but within the key directory: followed.
		other := schema.KeyRef{Mount: "other", Path: "x", Field: "key"}
		mustPut(t, d, other, key)
		f, _ := keysource.KeyFile(dir, ref)
		if err := os.Symlink("../../other/x", filepath.Dir(f)); err != nil {
			t.Fatal(err)
		}
	}},
	{"link-outside", func(t *testing.T, dir string, _ keysource.Dir, ref schema.KeyRef, key []byte) {
		out := t.TempDir()
		if err := os.WriteFile(filepath.Join(out, "key.pem"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		f, _ := keysource.KeyFile(dir, ref)
		if err := os.Symlink(out, filepath.Dir(f)); err != nil {
			t.Fatal(err)
		}
	}},
}

// batchKeyDir returns a key directory holding batchCases (each set up by its setup, with key
// where it writes one) and the references of the cases, in order.
func batchKeyDir(t *testing.T, key []byte) (string, keysource.Dir, []schema.KeyRef) {
	t.Helper()
	dir, d := ktKeyDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "secret", "edge"), 0o700); err != nil {
		t.Fatal(err)
	}
	var refs []schema.KeyRef
	for _, c := range batchCases {
		ref := batchRef(c.name)
		c.setup(t, dir, d, ref, key)
		refs = append(refs, ref)
	}
	return dir, d, refs
}

// TestDirKeysBatchMatchesFetch: a Cache reading many keys of a key directory at once (the
// batch path) gets, for each reference, what Fetch returns: the same key or the same error.
func TestDirKeysBatchMatchesFetch(t *testing.T) {
	key := ktKeyPEM(t)
	_, d, refs := batchKeyDir(t, key)
	refs = append(refs, schema.KeyRef{Mount: "secret", Path: "edge/../x", Field: "key"})
	cache := keysource.NewCache(d, 0, 3)
	if n := cache.Sync(context.Background(), refs); n != len(refs) {
		t.Fatalf("Sync read %d keys; want %d", n, len(refs))
	}
	for _, ref := range refs {
		want, wantErr := d.Fetch(context.Background(), ref)
		got, ok := cache.Lookup(ref)
		if !ok {
			t.Fatalf("%s: not in the cache", keysource.RefName(ref))
		}
		if fmt.Sprint(got.Err) != fmt.Sprint(wantErr) || got.Have != (wantErr == nil) {
			t.Errorf("%s: batch error %v; Fetch: %v", keysource.RefName(ref), got.Err, wantErr)
		}
		if wantErr == nil && (got.Key.Signer == nil || !bytes.Equal(want.PEM, key)) {
			t.Errorf("%s: batch read no parsed key", keysource.RefName(ref))
		}
		ktAssertNoKey(t, got.Err, key)
	}
	if e, _ := cache.Lookup(batchRef("good")); !e.Have {
		t.Error("the good key was not read")
	}
}

// TestDirKeysBatchDirRefused: a key directory group or others can open is refused for every
// key, as Fetch refuses it.
func TestDirKeysBatchDirRefused(t *testing.T) {
	dir, d := ktKeyDir(t)
	ref := batchRef("a")
	mustPut(t, d, ref, ktKeyPEM(t))
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cache := keysource.NewCache(d, 0, 0)
	cache.Sync(context.Background(), []schema.KeyRef{ref})
	e, _ := cache.Lookup(ref)
	if e.Have || e.Err == nil || !bytes.Contains([]byte(e.Err.Error()), []byte("chmod 700")) {
		t.Fatalf("entry %+v; want the key directory refused", e)
	}
}

// benchKeyDir writes n keys (one shared PEM) in the layout the bench and sitegen use.
func benchKeyDir(b *testing.B, n int) (keysource.Dir, []schema.KeyRef) {
	dir := filepath.Join(b.TempDir(), "keys")
	if err := os.Mkdir(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	d := keysource.Dir{Dir: dir}
	key := ktKeyPEM(b)
	refs := make([]schema.KeyRef, n)
	for i := range refs {
		refs[i] = batchRef(fmt.Sprintf("site%05d", i))
		if err := d.Put(refs[i], key); err != nil {
			b.Fatal(err)
		}
	}
	return d, refs
}

// fetchOnly hides Dir's batch path: a Cache on it calls Fetch once per key.
type fetchOnly struct{ keysource.Source }

// BenchmarkDirSync1k: a Cache reading 1,000 keys of a key directory, as at start: the batch
// path against one Fetch per key.
func BenchmarkDirSync1k(b *testing.B) {
	d, refs := benchKeyDir(b, 1000)
	for _, bc := range []struct {
		name string
		src  keysource.Source
	}{{"batch", d}, {"fetch", fetchOnly{d}}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				c := keysource.NewCache(bc.src, 0, 0)
				if n := c.Sync(context.Background(), refs); n != len(refs) {
					b.Fatalf("read %d", n)
				}
				if e, _ := c.Lookup(refs[0]); !e.Have {
					b.Fatal(e.Err)
				}
			}
		})
	}
}
