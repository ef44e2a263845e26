package reconcile

import (
	"slices"
	"testing"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/schema"
)

// TestRefsOfSharesAnUnchangedList: refsOf hands back the last list itself when the sites'
// key references are the same (no garbage per commit), and a new, right list whenever one
// changes, appears or goes, a site is added or removed, or a site turns passthrough or
// issued.
func TestRefsOfSharesAnUnchangedList(t *testing.T) {
	mk := func(name, key string) *schema.Site {
		s := &schema.Site{Key: schema.KeyRef{Mount: "secret", Path: "edge/" + key, Field: "key"}}
		s.Name = name
		return s
	}
	cfg := func(sites ...*schema.Site) *schema.Config { return &schema.Config{Sites: sites} }
	a, b, c := mk("a", "a"), mk("b", "b"), mk("c", "c")
	prev := refsOf(cfg(a, b, c), nil)
	if len(prev) != 3 {
		t.Fatalf("refsOf listed %d references; want 3", len(prev))
	}
	if got := refsOf(cfg(mk("a", "a"), b, c), prev); &got[0] != &prev[0] || len(got) != 3 {
		t.Error("the same references gave a new list")
	}
	issued := mk("b", "b")
	issued.Issuer = "le"
	pass := mk("c", "c")
	pass.Passthrough = &site.Passthrough{}
	for _, tt := range []struct {
		name string
		cfg  *schema.Config
	}{
		{"a key path changed", cfg(a, mk("b", "b2"), c)},
		{"a site added", cfg(a, b, c, mk("d", "d"))},
		{"a site removed", cfg(a, b)},
		{"the first removed", cfg(b, c)},
		{"a site issued", cfg(a, issued, c)},
		{"a site passthrough", cfg(a, b, pass)},
		{"no sites", cfg()},
	} {
		got := refsOf(tt.cfg, prev)
		var want []schema.KeyRef
		for _, s := range tt.cfg.Sites {
			if s.Passthrough == nil && s.Issuer == "" {
				want = append(want, s.Key)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: refsOf = %v; want %v", tt.name, got, want)
		}
		if len(got) > 0 && &got[0] == &prev[0] {
			t.Errorf("%s: the last list was handed back", tt.name)
		}
	}
}
