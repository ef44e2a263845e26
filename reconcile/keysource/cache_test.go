package keysource_test

import (
	"context"
	"errors"
	"testing"

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
