package reconcile

import (
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/edgectl/edge/schema"
)

// keyCache holds the keys fetched from a KeySource so that a reconcile reads only what is new
// or due: a reference seen before costs nothing, an unpinned reference ("latest") is re-read
// on a slow refresh spread over time, and a failed read is retried with backoff while the last
// good key (if any) stays in use. It is used by one reconcile at a time.
type keyCache struct {
	src         KeySource
	refresh     time.Duration // re-read interval of unpinned references; 0: never
	concurrency int

	entries map[schema.KeyRef]*keyEntry
}

// keyEntry is what the cache knows of one reference.
type keyEntry struct {
	key  Key      // last good key; PEM nil if never fetched
	sum  [32]byte // sha256 of key.PEM: identifies the key without keeping a second copy around
	have bool     // key holds a good key

	due      time.Time // next read; zero: never (pinned and fetched)
	err      error     // last read's error, nil after a success
	failures int       // consecutive failed reads, for backoff
}

func newKeyCache(src KeySource, refresh time.Duration, concurrency int) *keyCache {
	if concurrency <= 0 {
		concurrency = 8
	}
	return &keyCache{src: src, refresh: refresh, concurrency: concurrency, entries: map[schema.KeyRef]*keyEntry{}}
}

// due reports whether any of refs needs a read now (absent, failed and past its backoff, or
// past its refresh time).
func (c *keyCache) due(refs []schema.KeyRef) bool {
	now := time.Now()
	for _, r := range refs {
		if c.needsRead(r, now) {
			return true
		}
	}
	return false
}

// needsRead: ref was never read, or its refresh or retry time has come.
func (c *keyCache) needsRead(ref schema.KeyRef, now time.Time) bool {
	e, ok := c.entries[ref]
	return !ok || !e.due.IsZero() && !now.Before(e.due)
}

// nextDue is the earliest time any entry wants a read; zero if none.
func (c *keyCache) nextDue() time.Time {
	var next time.Time
	for _, e := range c.entries {
		if !e.due.IsZero() && (next.IsZero() || e.due.Before(next)) {
			next = e.due
		}
	}
	return next
}

// sync reads every reference in refs that is absent or due, at most c.concurrency at once,
// drops entries for references no longer used, and returns the number of reads made.
func (c *keyCache) sync(ctx context.Context, refs []schema.KeyRef) int {
	now := time.Now()
	used := make(map[schema.KeyRef]bool, len(refs))
	var todo []schema.KeyRef
	for _, r := range refs {
		if used[r] {
			continue
		}
		used[r] = true
		if c.needsRead(r, now) {
			todo = append(todo, r)
		}
	}
	for r := range c.entries {
		if !used[r] {
			delete(c.entries, r)
		}
	}
	if len(todo) == 0 {
		return 0
	}

	type result struct {
		ref schema.KeyRef
		key Key
		err error
	}
	results := make([]result, len(todo))
	sem := make(chan struct{}, c.concurrency)
	var wg sync.WaitGroup
	for i, r := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			k, err := c.src.Fetch(ctx, r)
			results[i] = result{r, k, err}
		}()
	}
	wg.Wait()

	now = time.Now()
	for _, res := range results {
		e := c.entries[res.ref]
		if e == nil {
			e = &keyEntry{}
			c.entries[res.ref] = e
		}
		if res.err != nil {
			e.err = res.err
			e.failures++
			e.due = now.Add(backoff(e.failures))
			continue
		}
		e.key, e.sum, e.have, e.err, e.failures = res.key, sha256.Sum256(res.key.PEM), true, nil, 0
		e.due = time.Time{}
		if res.ref.Version == 0 && c.refresh > 0 {
			// Spread refreshes over [refresh/2, 3*refresh/2) so 10,000 sites do not all
			// come due in the same poll.
			e.due = now.Add(c.refresh/2 + rand.N(c.refresh))
		}
	}
	return len(todo)
}

// expire makes ref due for a read at the next sync, keeping its last good key meanwhile. A
// reference already failing keeps its backoff.
func (c *keyCache) expire(ref schema.KeyRef) {
	if e, ok := c.entries[ref]; ok && e.err == nil {
		e.due = time.Now()
	}
}

// lookup returns the entry for ref, or nil if it was never read.
func (c *keyCache) lookup(ref schema.KeyRef) *keyEntry { return c.entries[ref] }

// backoff is the wait before retry n (1-based) of a failed read: 1s doubling to 5m.
func backoff(n int) time.Duration {
	d := time.Second
	for i := 1; i < n && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}
