package reconcile

import "testing"

// TestReleaseAfterBigReconcile: a reconcile that compiles bigReconcile sites or more makes
// a release due, which happens once, at the step's end; a smaller one does not.
func TestReleaseAfterBigReconcile(t *testing.T) {
	calls := 0
	release := func() { calls++ }
	a := &Agent{}
	a.releaseWith(release)
	if calls != 0 {
		t.Fatalf("released %d times with nothing due; want 0", calls)
	}
	a.releaseDue = true
	a.releaseWith(release)
	a.releaseWith(release)
	if calls != 1 {
		t.Errorf("released %d times for one due release; want 1", calls)
	}
}
