package edge

import (
	"sync"
	"time"
)

// encoderPool keeps the idle encoders of one coding for reuse: a stack, the most recently
// used on top (taken first), at most maxIdleEncoders (an encoder given back to a full pool
// is left to the garbage collector), each dropped once idle for encoderIdleTimeout by a
// timer armed while the pool holds any. Unlike a sync.Pool it is not emptied by every
// garbage collection, which under steady load made each cycle allocate the encoders
// afresh (1 to 2 MiB each), and it empties when compression stops rather than at the
// collector's pace.
type encoderPool struct {
	newFn func() encoder
	size  int64 // about the heap one encoder takes (BenchmarkEncoderReuse's heapB/new)

	mu    sync.Mutex
	idle  []idleEncoder // oldest first
	timer *time.Timer   // nil until first needed
	armed bool          // the timer is set to trim
	made  int64         // encoders made, for tests and benchmarks
}

// idleEncoder is an encoder in the pool with the time it was given back.
type idleEncoder struct {
	e     encoder
	since time.Time
}

// get returns an idle encoder, the most recently used, or a new one.
func (p *encoderPool) get() encoder {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		e := p.idle[n-1].e
		p.idle[n-1] = idleEncoder{}
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return e
	}
	p.made++
	p.mu.Unlock()
	return p.newFn()
}

// put keeps e for reuse unless the pool is full, and arms the idle timer.
func (p *encoderPool) put(e encoder) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= maxIdleEncoders {
		return
	}
	p.idle = append(p.idle, idleEncoder{e: e, since: now})
	if !p.armed {
		p.arm(encoderIdleTimeout)
	}
}

// arm sets the timer to trim after d (p.mu held).
func (p *encoderPool) arm(d time.Duration) {
	p.armed = true
	if p.timer == nil {
		p.timer = time.AfterFunc(d, p.trim)
		return
	}
	p.timer.Reset(d)
}

// trim drops the encoders idle for encoderIdleTimeout or longer and re-arms the timer for
// the oldest of the others, if any; then, if compression has stopped, it may give the
// memory back (encoderReleaser).
func (p *encoderPool) trim() {
	now := time.Now()
	p.mu.Lock()
	p.armed = false
	dropped := p.dropIdleSince(now.Add(-encoderIdleTimeout))
	if len(p.idle) > 0 {
		p.arm(p.idle[0].since.Add(encoderIdleTimeout).Sub(now))
	}
	p.mu.Unlock()
	if dropped > 0 {
		encoderMemory.droppedAt(now, int64(dropped)*p.size)
	}
}

// dropIdleSince removes the encoders given back before cutoff (p.mu held) and returns how
// many it removed.
func (p *encoderPool) dropIdleSince(cutoff time.Time) int {
	i := 0
	for i < len(p.idle) && p.idle[i].since.Before(cutoff) {
		i++
	}
	kept := copy(p.idle, p.idle[i:])
	clear(p.idle[kept:])
	p.idle = p.idle[:kept]
	return i
}

// idleCount returns the number of encoders in the pool.
func (p *encoderPool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
