package reconcile

import "runtime/debug"

// releaseIfDue returns the heap's free pages to the operating system, in the background,
// at the end of a Step whose reconcile compiled bigReconcile sites or more (a cold start,
// a change to edge.cue). Such a step (evaluating and compiling thousands of sites, building
// the snapshot, then saving the state) leaves the heap far above what stays live, and Go's
// scavenger gives the free pages back only slowly. Releasing at the step's end rather than
// right after the publish also returns what the state save used (its packfile encoding),
// with one collection instead of two.
func (a *Agent) releaseIfDue() { a.releaseWith(func() { go debug.FreeOSMemory() }) }

// releaseWith calls release if a release is due, once.
func (a *Agent) releaseWith(release func()) {
	if !a.releaseDue {
		return
	}
	a.releaseDue = false
	release()
}
