package edge

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Giving the memory of dropped encoders back to the system: once compression has stopped
// (no encoder in use or idle) and at least releaseEncoderBytes of encoders were dropped
// since the last time, at most once per releaseEncoderEvery. Without it the dropped
// encoders stay in the heap, and in the process's RSS, until the runtime's next periodic
// collection (two minutes) and its scavenger's pace.
const (
	releaseEncoderBytes = 32 << 20
	releaseEncoderEvery = time.Minute
)

// encoderReleaser decides when to give dropped encoders' memory back (see
// releaseEncoderBytes).
type encoderReleaser struct {
	dropped atomic.Int64 // about the heap of the encoders dropped since the last release
	stopped func() bool  // whether compression has stopped
	free    func()       // the release: a collection, then free pages returned

	mu   sync.Mutex
	last time.Time
}

// encoderMemory is the process's releaser, for the encoder pools.
var encoderMemory = &encoderReleaser{stopped: compressionStopped, free: debug.FreeOSMemory}

// compressionStopped reports whether no encoder is in use or idle.
func compressionStopped() bool {
	if encodersInUse.Load() > 0 {
		return false
	}
	for _, p := range encoderPools {
		if p.idleCount() > 0 {
			return false
		}
	}
	return true
}

// droppedAt counts n bytes of encoders dropped at now, and releases memory if it is time.
// It reports whether it did.
func (r *encoderReleaser) droppedAt(now time.Time, n int64) bool {
	if r.dropped.Add(n) < releaseEncoderBytes || !r.stopped() {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < releaseEncoderEvery {
		return false
	}
	r.last = now
	r.dropped.Store(0)
	r.free()
	return true
}
