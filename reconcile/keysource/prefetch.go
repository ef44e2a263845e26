package keysource

import (
	"context"
	"sync"

	"github.com/edgectl/edge/schema"
)

// Prefetch reads keys ahead of the Cache.Sync that will want them: the agent adds each
// site's key reference as soon as the schema loader has evaluated the site (see
// schema.LoadTrace), so that at a cold start the keys are read while the other sites are
// still being evaluated, not in a phase of their own afterwards. Cache.Sync then takes the
// results (Cache.UsePrefetch) instead of reading those references again; a Prefetch whose
// load failed is dropped (Discard). Add never blocks: the reads run on up to concurrency
// goroutines of the Prefetch's own. It is safe for concurrent use.
type Prefetch struct {
	ctx         context.Context
	fetch       func(context.Context, schema.KeyRef) (Key, error)
	end         func() // releases what fetch shares (a Dir's opened directories)
	concurrency int

	mu      sync.Mutex
	queue   []schema.KeyRef
	seen    map[schema.KeyRef]bool
	done    map[schema.KeyRef]prefetched
	running int
	closed  bool
	idle    sync.Cond // signalled when running drops to 0
}

// prefetched is one read's result.
type prefetched struct {
	key Key
	err error
}

// sessionSource is a Source with a cheaper way to make many reads than a Fetch each (Dir):
// session returns the way to read, and what to call once every read has returned.
type sessionSource interface {
	session() (fetch func(context.Context, schema.KeyRef) (Key, error), end func())
}

// NewPrefetch returns a Prefetch reading from src with ctx, at most concurrency reads at
// once (8 if zero or less).
func NewPrefetch(ctx context.Context, src Source, concurrency int) *Prefetch {
	if concurrency <= 0 {
		concurrency = 8
	}
	p := &Prefetch{ctx: ctx, fetch: src.Fetch, end: func() {}, concurrency: concurrency,
		seen: map[schema.KeyRef]bool{}, done: map[schema.KeyRef]prefetched{}}
	if ss, ok := src.(sessionSource); ok {
		p.fetch, p.end = ss.session()
	}
	p.idle.L = &p.mu
	return p
}

// Add has ref read, unless it was added before or the Prefetch was taken or discarded.
func (p *Prefetch) Add(ref schema.KeyRef) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.seen[ref] {
		return
	}
	p.seen[ref] = true
	p.queue = append(p.queue, ref)
	if p.running < p.concurrency {
		p.running++
		go p.work()
	}
}

// work reads queued references until the queue is empty.
func (p *Prefetch) work() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) > 0 && !p.closed {
		ref := p.queue[0]
		p.queue = p.queue[1:]
		p.mu.Unlock()
		k, err := p.fetch(p.ctx, ref)
		p.mu.Lock()
		p.done[ref] = prefetched{k, err}
	}
	if p.running--; p.running == 0 {
		p.idle.Broadcast()
	}
}

// wait returns once every reference added so far has been read.
func (p *Prefetch) wait() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.running > 0 {
		p.idle.Wait()
	}
}

// finish stops the Prefetch (Add does nothing from now on), drops the reads not started,
// waits for those under way and returns every result.
func (p *Prefetch) finish() map[schema.KeyRef]prefetched {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed, p.queue = true, nil
	for p.running > 0 {
		p.idle.Wait()
	}
	p.end()
	done := p.done
	p.done = nil
	return done
}

// Discard stops the Prefetch and drops what it read (keys are secrets: none is kept). It
// returns the number of reads made, for the caller's count of reads.
func (p *Prefetch) Discard() int {
	return len(p.finish())
}
