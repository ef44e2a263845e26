package keysource_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// mapSource answers the key paths it holds and fails the others.
type mapSource map[string]string

func (m mapSource) Fetch(_ context.Context, ref schema.KeyRef) (keysource.Key, error) {
	if k, ok := m[ref.Path]; ok {
		return keysource.Key{PEM: []byte(k)}, nil
	}
	return keysource.Key{}, errors.New("no such key")
}

// TestCacheVersion: Version stays put while every Entry stays as it is (a Sync with nothing
// due, an Expire) and moves when one changes (a read, good or failed) or goes (a reference
// no longer used), so that the agent can tell an unchanged cache by one comparison.
func TestCacheVersion(t *testing.T) {
	ctx := context.Background()
	src := mapSource{"a": "key a"}
	c := keysource.NewCache(src, 0, 1)
	a, b := schema.KeyRef{Path: "a"}, schema.KeyRef{Path: "b"}
	steps := []struct {
		name  string
		do    func()
		moves bool
	}{
		{"first read of a", func() { c.Sync(ctx, []schema.KeyRef{a}) }, true},
		{"sync, nothing due", func() { c.Sync(ctx, []schema.KeyRef{a}) }, false},
		{"expire a", func() { c.Expire(a) }, false},
		{"read of a again (the same key)", func() { c.Sync(ctx, []schema.KeyRef{a}) }, true},
		{"failed read of b", func() { c.Sync(ctx, []schema.KeyRef{a, b}) }, true},
		{"b in its backoff", func() { c.Sync(ctx, []schema.KeyRef{a, b}) }, false},
		{"b no longer used", func() { c.Sync(ctx, []schema.KeyRef{a}) }, true},
	}
	for _, s := range steps {
		v := c.Version()
		s.do()
		if moved := c.Version() != v; moved != s.moves {
			t.Errorf("%s: version moved = %v; want %v", s.name, moved, s.moves)
		}
	}
	if e, ok := c.Lookup(a); !ok || !e.Have || string(e.Key.PEM) != "key a" {
		t.Errorf("Lookup(a) = %+v, %v; want key a", e, ok)
	}
}

// countingSource counts the reads of a mapSource.
type countingSource struct {
	mapSource
	reads int
}

func (c *countingSource) Fetch(ctx context.Context, ref schema.KeyRef) (keysource.Key, error) {
	c.reads++
	return c.mapSource.Fetch(ctx, ref)
}

// TestCacheSyncIdle: a Sync of the same references (an equal slice, not the same one) with
// nothing due reads nothing; one that adds a reference, an Expire, a reference dropped and
// brought back, or a refresh come due, read what they did before the shortcut.
func TestCacheSyncIdle(t *testing.T) {
	ctx := context.Background()
	src := &countingSource{mapSource: mapSource{"a": "key a", "b": "key b"}}
	c := keysource.NewCache(src, 0, 1)
	a, b := schema.KeyRef{Path: "a"}, schema.KeyRef{Path: "b"}
	refs := func(r ...schema.KeyRef) []schema.KeyRef { return r }
	steps := []struct {
		name  string
		do    func() int
		reads int
	}{
		{"first sync", func() int { return c.Sync(ctx, refs(a)) }, 1},
		{"the same references", func() int { return c.Sync(ctx, refs(a)) }, 0},
		{"b added", func() int { return c.Sync(ctx, refs(a, b)) }, 1},
		{"a and b again", func() int { return c.Sync(ctx, refs(a, b)) }, 0},
		{"a expired", func() int { c.Expire(a); return c.Sync(ctx, refs(a, b)) }, 1},
		{"b dropped", func() int { return c.Sync(ctx, refs(a)) }, 0},
		{"b back (read again)", func() int { return c.Sync(ctx, refs(a, b)) }, 1},
	}
	for _, s := range steps {
		before := src.reads
		n := s.do()
		if got := src.reads - before; got != s.reads || n != s.reads {
			t.Errorf("%s: %d reads (Sync said %d); want %d", s.name, got, n, s.reads)
		}
	}
	if _, ok := c.Lookup(b); !ok {
		t.Error("b not in the cache after the last sync")
	}

	// With a refresh, a Sync once the refresh is due reads again: ask until it does (the
	// refresh is spread over [1ms/2, 3ms/2)), at most 10 s.
	r := keysource.NewCache(src, time.Millisecond, 1)
	r.Sync(ctx, refs(a))
	for deadline := time.Now().Add(10 * time.Second); r.Sync(ctx, refs(a)) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no read of a 10 s after its refresh came due")
		}
	}
}

// TestCacheNextDue: NextDue, kept rather than scanned for, is the earliest due time of the
// entries after every change to them: reads with a refresh (spread due times), a failed
// read (its backoff), an Expire, a reference dropped, a pinned-only set (none due).
func TestCacheNextDue(t *testing.T) {
	ctx := context.Background()
	c := keysource.NewCache(mapSource{"a": "key a", "b": "key b", "c": "key c"}, time.Hour, 2)
	a, b, cc, bad := schema.KeyRef{Path: "a"}, schema.KeyRef{Path: "b"}, schema.KeyRef{Path: "c"}, schema.KeyRef{Path: "missing"}
	pinned := schema.KeyRef{Path: "a", Version: 3}
	check := func(step string) {
		t.Helper()
		if got, want := c.NextDue(), c.ScanNextDue(); !got.Equal(want) {
			t.Errorf("%s: NextDue %v; the entries' earliest due time is %v", step, got, want)
		}
	}
	check("empty")
	c.Sync(ctx, []schema.KeyRef{a, b, cc})
	check("three read")
	if c.NextDue().IsZero() {
		t.Fatal("no due time after reading references with a refresh")
	}
	c.Sync(ctx, []schema.KeyRef{a, b, cc, bad})
	check("a failed read added")
	c.Expire(b)
	check("b expired")
	if d := c.NextDue(); time.Since(d) < 0 || time.Since(d) > time.Minute {
		t.Errorf("after Expire NextDue is %v; want about now", d)
	}
	c.Sync(ctx, []schema.KeyRef{a, cc})
	check("b and the failing one dropped")
	c.Sync(ctx, []schema.KeyRef{pinned})
	check("a pinned reference only")
	if !c.NextDue().IsZero() {
		t.Errorf("NextDue %v with only a pinned reference read; want none", c.NextDue())
	}
}
