package reconcile

import (
	"runtime/debug"
	"time"
)

// releaseAfterFirstPublish returns the heap's free pages to the operating system once, at
// the end of the first Step that left a snapshot published. The first load (evaluating
// every site, parsing every certificate and key, building the snapshot, saving the state)
// leaves the heap about twice the size of what it keeps, and Go's background scavenger
// gives those free pages back only slowly, so the agent would otherwise stay near that
// peak's resident size until load reuses them. At 10,000 sites this costs one collection
// (about 0.1 s of CPU) after the agent is ready. Later publishes replace part of the heap
// and leave less behind; they are not followed by it.
func (a *Agent) releaseAfterFirstPublish() { a.releaseOnce(debug.FreeOSMemory) }

// releaseOnce calls release the first time it is called with a snapshot published.
func (a *Agent) releaseOnce(release func()) {
	if a.memReleased || a.generation == 0 {
		return
	}
	a.memReleased = true
	start := time.Now()
	release()
	a.log.Debug("memory left free by the first load returned to the OS", "took", time.Since(start).Round(time.Millisecond))
}
