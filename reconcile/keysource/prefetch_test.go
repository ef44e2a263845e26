package keysource_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// mapKeys is a key source of PEMs by key path, counting its reads.
type mapKeys struct {
	mu    sync.Mutex
	pems  map[string][]byte
	reads map[string]int
}

func (m *mapKeys) Fetch(_ context.Context, ref schema.KeyRef) (keysource.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads[ref.Path]++
	if b, ok := m.pems[ref.Path]; ok {
		return keysource.Key{PEM: b}, nil
	}
	return keysource.Key{}, fmt.Errorf("key %s: %w", ref.Path, keysource.ErrNotFound)
}

func (m *mapKeys) readsOf(path string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads[path]
}

// TestPrefetchedKeysOfADirAreTaken: a Sync given a Prefetch of a key directory that has
// read every reference reads none again (the key files are gone by then) and stores, for
// each, what a Sync reading the directory stores: the parsed key, or the same error.
func TestPrefetchedKeysOfADirAreTaken(t *testing.T) {
	key := ktKeyPEM(t)
	dir, d, refs := batchKeyDir(t, key)
	plain := keysource.NewCache(d, 0, 3)
	plain.Sync(context.Background(), refs)

	p := keysource.NewPrefetch(context.Background(), d, 3)
	for _, ref := range refs {
		p.Add(ref)
		p.Add(ref) // twice: read once
	}
	p.Wait()
	if err := os.RemoveAll(filepath.Join(dir, "secret")); err != nil {
		t.Fatal(err)
	}
	pre := keysource.NewCache(d, 0, 3)
	if n := pre.SyncPrefetched(context.Background(), refs, p); n != len(refs) {
		t.Errorf("SyncPrefetched counted %d reads; want %d", n, len(refs))
	}
	for _, ref := range refs {
		want, _ := plain.Lookup(ref)
		got, ok := pre.Lookup(ref)
		switch {
		case !ok:
			t.Errorf("%s: not in the cache", keysource.RefName(ref))
		case fmt.Sprint(got.Err) != fmt.Sprint(want.Err) || got.Have != want.Have || got.Sum != want.Sum:
			t.Errorf("%s: prefetched entry (have %v, err %v); a Sync read (have %v, err %v)",
				keysource.RefName(ref), got.Have, got.Err, want.Have, want.Err)
		case got.Have && got.Key.Signer == nil:
			t.Errorf("%s: no parsed key", keysource.RefName(ref))
		}
		ktAssertNoKey(t, got.Err, key)
	}
}

// TestPrefetchReadsOnce: a Sync takes what the Prefetch read and reads only the rest; a
// reference the cache holds already keeps its entry; a discarded Prefetch reads nothing
// more and keeps nothing.
func TestPrefetchReadsOnce(t *testing.T) {
	ctx := context.Background()
	src := &mapKeys{pems: map[string][]byte{"a": []byte("A"), "b": []byte("B"), "c": []byte("C"), "old": []byte("old")}, reads: map[string]int{}}
	ref := func(p string) schema.KeyRef { return schema.KeyRef{Mount: "secret", Path: p, Field: "key"} }
	c := keysource.NewCache(src, 0, 2)
	c.Sync(ctx, []schema.KeyRef{ref("old")})

	p := keysource.NewPrefetch(ctx, src, 2)
	for _, r := range []string{"a", "b", "a", "gone", "old", "unused"} {
		p.Add(ref(r))
	}
	p.Wait()
	src.mu.Lock()
	src.pems["old"] = []byte("new")
	src.mu.Unlock()
	refs := []schema.KeyRef{ref("old"), ref("a"), ref("b"), ref("gone"), ref("c")}
	if n := c.SyncPrefetched(ctx, refs, p); n != 6 {
		t.Errorf("SyncPrefetched counted %d reads; want 6 (5 prefetched, c)", n)
	}
	for path, want := range map[string]int{"a": 1, "b": 1, "gone": 1, "c": 1, "old": 2, "unused": 1} {
		if got := src.readsOf(path); got != want {
			t.Errorf("%s read %d times; want %d", path, got, want)
		}
	}
	if e, _ := c.Lookup(ref("old")); string(e.Key.PEM) != "old" {
		t.Errorf("old: %q; want the entry read before (not due), not the prefetched one", e.Key.PEM)
	}
	if e, _ := c.Lookup(ref("a")); !e.Have || string(e.Key.PEM) != "A" {
		t.Errorf("a: %+v; want the prefetched key", e)
	}
	if e, ok := c.Lookup(ref("gone")); !ok || e.Have || e.Err == nil || e.Err.Error() != "key gone: reconcile: key not found" {
		t.Errorf("gone: %+v; want the prefetched read's error", e)
	}

	d := keysource.NewPrefetch(ctx, src, 2)
	d.Add(ref("x"))
	d.Wait()
	if n := d.Discard(); n != 1 {
		t.Errorf("Discard counted %d reads; want 1", n)
	}
	d.Add(ref("y"))
	d.Wait()
	if src.readsOf("y") != 0 {
		t.Error("a discarded Prefetch read a key added after")
	}
	if n := c.SyncPrefetched(ctx, []schema.KeyRef{ref("x")}, d); n != 1 || src.readsOf("x") != 2 {
		t.Errorf("a Sync given a discarded Prefetch counted %d reads, x read %d times; want 1 and 2", n, src.readsOf("x"))
	}
}
