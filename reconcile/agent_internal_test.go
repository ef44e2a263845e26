package reconcile

import "testing"

// TestTriggerCollapses: a burst of triggers (webhook deliveries, SIGHUPs) leaves one poll
// pending, and Trigger never blocks.
func TestTriggerCollapses(t *testing.T) {
	a := &Agent{trigger: make(chan struct{}, 1)}
	for range 5 {
		a.Trigger()
	}
	if len(a.trigger) != 1 {
		t.Errorf("pending polls = %d; want 1", len(a.trigger))
	}
}
