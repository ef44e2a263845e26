package keysource

import (
	"context"
	"crypto/sha256"
	"slices"
	"sync"
	"time"

	"github.com/edgectl/edge/schema"
)

// Cache holds the keys fetched from a Source so that a reconcile reads only what is new
// or due: a reference seen before costs nothing, an unpinned reference ("latest") is re-read
// on a slow refresh spread over time, and a failed read is retried with backoff while the last
// good key (if any) stays in use. It is not safe for concurrent use: one reconcile at a time
// uses it.
type Cache struct {
	src         Source
	refresh     time.Duration // re-read interval of unpinned references; 0: never
	concurrency int

	entries map[schema.KeyRef]*entry
	syncs   uint64 // Sync calls, to mark the entries each one uses
	version uint64 // changes whenever an Entry changes, appears or goes (see Version)

	// What the last Sync left, for the next one to see that it has nothing to do.
	lastRefs []schema.KeyRef // its references (a copy); nil before the first Sync
	nextDue  time.Time       // the earliest due time of an entry (Expire lowers it); zero: none
}

// Entry is what a Cache knows of one reference (see Cache.Lookup).
type Entry struct {
	// Key is the last good key; its PEM is nil if none was read yet, or if the source
	// parsed it (Key.Signer set: only the parsed key is kept).
	Key Key
	// Sum is the SHA-256 of Key.PEM: it identifies the key without a second copy of it.
	Sum [32]byte
	// Have is true when Key holds a good key.
	Have bool
	// Err is the last read's error; nil after a success.
	Err error
}

// entry is an Entry and its read schedule.
type entry struct {
	Entry
	due      time.Time // next read; zero: never (pinned and fetched)
	failures int       // consecutive failed reads, for backoff
	seen     uint64    // the last Sync whose references held it
	queued   uint64    // the last Sync that read it
}

// NewCache returns an empty cache reading from src. Unpinned references are read again
// every refresh (spread over [refresh/2, 3*refresh/2) in refreshSlots batches; see
// refreshDue); zero means never. At most
// concurrency reads run at once; zero or less means 8.
func NewCache(src Source, refresh time.Duration, concurrency int) *Cache {
	if concurrency <= 0 {
		concurrency = 8
	}
	return &Cache{src: src, refresh: refresh, concurrency: concurrency, entries: map[schema.KeyRef]*entry{}}
}

// Due reports whether any of refs needs a read now (absent, failed and past its backoff, or
// past its refresh time).
func (c *Cache) Due(refs []schema.KeyRef) bool {
	now := time.Now()
	for _, r := range refs {
		if c.needsRead(r, now) {
			return true
		}
	}
	return false
}

// needsRead: ref was never read, or its refresh or retry time has come.
func (c *Cache) needsRead(ref schema.KeyRef, now time.Time) bool {
	e, ok := c.entries[ref]
	return !ok || !e.due.IsZero() && !now.Before(e.due)
}

// NextDue is the earliest time any entry wants a read; zero if none. It is what the last
// Sync left, lowered by Expire since (entries change only there): the agent asks after
// every poll, and scanning 10,000 entries cost about a millisecond each time.
func (c *Cache) NextDue() time.Time { return c.nextDue }

// scanNextDue finds the earliest time any entry wants a read; zero if none.
func (c *Cache) scanNextDue() time.Time {
	var next time.Time
	for _, e := range c.entries {
		if !e.due.IsZero() && (next.IsZero() || e.due.Before(next)) {
			next = e.due
		}
	}
	return next
}

// Sync reads every reference in refs that is absent or due, at most c.concurrency at once,
// drops entries for references no longer used, and returns the number of reads made.
func (c *Cache) Sync(ctx context.Context, refs []schema.KeyRef) int {
	return c.SyncPrefetched(ctx, refs, nil)
}

// SyncPrefetched is Sync taking what p read (p may be nil) for the references never read
// before, rather than reading them again: such a result is stored as a read by Sync
// would store it, an error included. It finishes p first (waiting for the reads under
// way; the ones not started are made here if needed) and drops what it read for other
// references. The count returned includes every read p made.
func (c *Cache) SyncPrefetched(ctx context.Context, refs []schema.KeyRef, p *Prefetch) int {
	var got map[schema.KeyRef]prefetched
	if p != nil {
		got = p.finish()
	}
	now := time.Now()
	if c.idle(refs, now) {
		return len(got)
	}
	defer c.remember(refs)
	c.syncs++
	var todo []schema.KeyRef
	var absent map[schema.KeyRef]bool // the refs never read, once each
	for _, r := range refs {
		e := c.entries[r] // one lookup per reference: 10,000 of them at 10,000 sites
		switch {
		case e != nil:
			e.seen = c.syncs
			if !e.due.IsZero() && !now.Before(e.due) && e.queued != c.syncs {
				e.queued = c.syncs
				todo = append(todo, r)
			}
		case !absent[r]:
			if absent == nil {
				absent = map[schema.KeyRef]bool{}
			}
			absent[r] = true
			todo = append(todo, r)
		}
	}
	for r, e := range c.entries {
		if e.seen != c.syncs {
			delete(c.entries, r)
			c.version++
		}
	}
	if len(todo) == 0 {
		return len(got)
	}

	results := make([]result, len(todo))
	rest := takePrefetched(todo, absent, got, results)
	restRefs := make([]schema.KeyRef, len(rest))
	for i, j := range rest {
		restRefs[i] = todo[j]
	}
	if len(restRefs) > 0 {
		c.fetchAll(ctx, restRefs, func(i int, k Key, err error) { results[rest[i]] = result{todo[rest[i]], k, err} })
	}

	now = time.Now()
	c.version++ // every read stores its result, the same key or not
	for _, res := range results {
		e := c.entries[res.ref]
		if e == nil {
			e = &entry{seen: c.syncs}
			c.entries[res.ref] = e
		}
		if res.err != nil {
			e.Err = res.err
			e.failures++
			e.due = now.Add(Backoff(e.failures))
			continue
		}
		e.Entry = Entry{Key: res.key, Sum: sha256.Sum256(res.key.PEM), Have: true}
		if e.Key.Signer != nil {
			// The parsed key is what the compiler uses; the PEM is not kept a second
			// time (about 250 bytes per site, and a secret held once).
			e.Key.PEM = nil
		}
		e.failures = 0
		e.due = time.Time{}
		if res.ref.Version == 0 && c.refresh > 0 {
			e.due = refreshDue(now, c.refresh)
		}
	}
	return len(rest) + len(got)
}

// result is one read of a Sync.
type result struct {
	ref schema.KeyRef
	key Key
	err error
}

// takePrefetched fills results[i] for each todo[i] never read before (absent) that got
// holds, and returns the indices of todo still to read.
func takePrefetched(todo []schema.KeyRef, absent map[schema.KeyRef]bool, got map[schema.KeyRef]prefetched, results []result) []int {
	rest := make([]int, 0, len(todo))
	for i, r := range todo {
		if res, ok := got[r]; ok && absent[r] {
			results[i] = result{r, res.key, res.err}
			continue
		}
		rest = append(rest, i)
	}
	return rest
}

// idle reports whether a Sync of refs at now has nothing to do: the same references as the
// last Sync (so every entry is one of them and none is absent) and no entry due. Comparing
// the references one by one costs far less than a lookup of each (hashing four strings):
// at 10,000 sites a commit that changes no key reference syncs 10,000 references for
// nothing.
func (c *Cache) idle(refs []schema.KeyRef, now time.Time) bool {
	return c.lastRefs != nil && (c.nextDue.IsZero() || now.Before(c.nextDue)) && slices.Equal(refs, c.lastRefs)
}

// remember keeps what a Sync of refs left for idle: a copy of refs (the caller's slice may
// change) and the earliest due time.
func (c *Cache) remember(refs []schema.KeyRef) {
	c.lastRefs = append(make([]schema.KeyRef, 0, len(refs)), refs...)
	c.nextDue = c.scanNextDue()
}

// fetchAll reads refs, at most c.concurrency at once, and calls out with each result.
func (c *Cache) fetchAll(ctx context.Context, refs []schema.KeyRef, out func(i int, k Key, err error)) {
	if bs, ok := c.src.(batchSource); ok {
		bs.fetchAll(ctx, refs, c.concurrency, out)
		return
	}
	sem := make(chan struct{}, c.concurrency)
	var wg sync.WaitGroup
	for i, r := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			k, err := c.src.Fetch(ctx, r)
			out(i, k, err)
		}()
	}
	wg.Wait()
}

// Expire makes ref due for a read at the next Sync, keeping its last good key meanwhile. A
// reference already failing keeps its backoff.
func (c *Cache) Expire(ref schema.KeyRef) {
	if e, ok := c.entries[ref]; ok && e.Err == nil {
		e.due = time.Now()
		if c.nextDue.IsZero() || e.due.Before(c.nextDue) {
			c.nextDue = e.due
		}
	}
}

// Version is a number that changes whenever what Lookup returns for some reference may have
// changed (a read stored its key or error, an entry was added or dropped): equal versions
// mean every Entry is as it was. Expire does not change it (it only makes a read due).
func (c *Cache) Version() uint64 { return c.version }

// Lookup returns what the cache holds for ref; ok is false if ref was never read.
func (c *Cache) Lookup(ref schema.KeyRef) (e Entry, ok bool) {
	if x := c.entries[ref]; x != nil {
		return x.Entry, true
	}
	return Entry{}, false
}

// Backoff is the wait before retry n (1-based) of a failed read: 1s doubling to 5m. (The
// agent waits as long after failed polls of the config repo.)
func Backoff(n int) time.Duration {
	d := time.Second
	for i := 1; i < n && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}
