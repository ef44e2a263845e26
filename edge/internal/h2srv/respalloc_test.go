package h2srv

import (
	"net/http"
	"slices"
	"testing"
)

// TestCloneHeader: the snapshot has the same fields and values, shares no slice with
// the original (appending to either leaves the other alone), keeps nil values, and a
// nil header clones to an empty map.
func TestCloneHeader(t *testing.T) {
	h := http.Header{"A": {"1", "2"}, "B": {"3"}, "Nil": nil, "Empty": {}}
	c := cloneHeader(h)
	if len(c) != len(h) {
		t.Fatalf("clone has %d keys, want %d", len(c), len(h))
	}
	for k, vv := range h {
		if !slices.Equal(c[k], vv) {
			t.Errorf("%s: %q, want %q", k, c[k], vv)
		}
	}
	if v, ok := c["Nil"]; !ok || v != nil {
		t.Errorf("Nil: %#v, %v; want a nil value kept", v, ok)
	}
	c["A"] = append(c["A"], "x")
	c.Add("B", "y")
	if !slices.Equal(h["A"], []string{"1", "2"}) || !slices.Equal(h["B"], []string{"3"}) {
		t.Errorf("appending to the clone changed the original: %q", h)
	}
	if !slices.Equal(c["B"], []string{"3", "y"}) {
		t.Errorf("clone B = %q", c["B"])
	}
	if c := cloneHeader(nil); c == nil || len(c) != 0 {
		t.Errorf("cloneHeader(nil) = %#v, want an empty map", c)
	}
}
