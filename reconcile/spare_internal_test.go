package reconcile

import "testing"

// TestAdoptKeepsTheReplacedMapEmptyForTheNextPlan: the compiled map a publish replaces holds
// no site afterwards, and the next plan fills that very map instead of a new one.
func TestAdoptKeepsTheReplacedMapEmptyForTheNextPlan(t *testing.T) {
	a := &Agent{compiled: map[string]*compiledSite{}}
	first := a.takeSpare(4)
	first["a"], first["b"] = &compiledSite{}, &compiledSite{}
	a.adopt(first)
	second := a.takeSpare(4)
	second["a"] = &compiledSite{}
	a.adopt(second)
	if len(first) != 0 {
		t.Fatalf("the replaced map still holds %d sites; want none", len(first))
	}
	third := a.takeSpare(4)
	third["c"] = &compiledSite{}
	if len(first) != 1 || first["c"] == nil {
		t.Fatalf("the next plan did not reuse the replaced map (it holds %v)", first)
	}
	if fourth := a.takeSpare(4); fourth == nil || len(fourth) != 0 || len(third) != 1 {
		t.Fatalf("a second take without a publish between: got %v (third %v); want a new empty map", fourth, third)
	}
}
