package edge

import (
	"hash/maphash"
	"math"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// rateLimiter is one declared rate limit: a token bucket per client key in a table of at
// most MaxClients buckets, split in shards with a lock each. A full shard drops its
// bucket seen least recently, so an address-spraying client costs a bounded table (about
// 100 bytes a bucket: 10,000 buckets, the default, are about 1 MB) and can only push out
// clients idle longer than the spray's whole cycle, whose buckets had most likely refilled
// anyway. Buckets are plain numbers under the shard's lock (not golang.org/x/time/rate,
// whose Limiter carries its own lock and is larger): refill, take a token, or say when
// the next one comes.
type rateLimiter struct {
	rate           float64 // tokens per second
	burst          float64
	header         string
	v4bits, v6bits int
	seed           maphash.Seed
	epoch          time.Time
	shards         []limitShard
}

// limitShard is a part of the table: buckets by key, and a list of them, most recently
// seen first.
type limitShard struct {
	mu      sync.Mutex
	buckets map[uint64]*bucket
	lru     bucket // sentinel: lru.next is the most recent, lru.prev the least
	max     int
}

// bucket is one client's tokens at time last (nanoseconds since the limiter's epoch).
type bucket struct {
	key        uint64
	tokens     float64
	last       int64
	prev, next *bucket
}

// newRateLimiter prepares l (checked by the schema), or returns nil for none.
func newRateLimiter(l *site.RateLimit) *rateLimiter {
	if l == nil || l.Requests <= 0 || l.Per <= 0 {
		return nil
	}
	d := l.WithDefaults()
	rl := &rateLimiter{
		rate: float64(d.Requests) / d.Per.Seconds(), burst: float64(max(d.Burst, 1)),
		header: http.CanonicalHeaderKey(d.Header), v4bits: d.IPv4Prefix, v6bits: d.IPv6Prefix,
		seed: maphash.MakeSeed(), epoch: time.Now(),
	}
	n := 16
	if d.MaxClients < 16*16 {
		n = 1
	}
	rl.shards = make([]limitShard, n)
	for i := range rl.shards {
		sh := &rl.shards[i]
		sh.max = d.MaxClients / n // the table holds MaxClients buckets at most, exactly
		if i < d.MaxClients%n {
			sh.max++
		}
		sh.max = max(sh.max, 1)
		sh.buckets = make(map[uint64]*bucket)
		sh.lru.next, sh.lru.prev = &sh.lru, &sh.lru
	}
	return rl
}

// key returns the bucket key of r, whose client address is ip: its header's value if
// the limit is keyed by one and r has it, else the address aggregated to its prefix.
func (l *rateLimiter) key(r *http.Request, ip netip.Addr) uint64 {
	if l.header != "" {
		if v := r.Header[l.header]; len(v) > 0 {
			return maphash.String(l.seed, "h"+v[0])
		}
	}
	bits := l.v6bits
	if ip.Is4() {
		bits = l.v4bits
	}
	p, _ := ip.Prefix(bits)
	var b [17]byte // 'a' and the address: never the bytes of a header key ('h', value)
	b[0] = 'a'
	a := p.Addr().As16()
	copy(b[1:], a[:])
	return maphash.Bytes(l.seed, b[:])
}

// allow takes a token from key's bucket. If there is none it returns false and how long
// until there is one.
func (l *rateLimiter) allow(key uint64, now time.Time) (bool, time.Duration) {
	sh := &l.shards[key%uint64(len(l.shards))]
	t := int64(now.Sub(l.epoch))
	sh.mu.Lock()
	b := sh.buckets[key]
	switch {
	case b == nil:
		b = sh.newBucket(key)
		b.tokens, b.last = l.burst, t
		sh.pushFront(b)
	case sh.lru.next != b: // the same client again: no relinking
		sh.unlink(b)
		sh.pushFront(b)
		fallthrough
	default:
		if t > b.last {
			b.tokens = min(l.burst, b.tokens+float64(t-b.last)/1e9*l.rate)
			b.last = t
		}
	}
	ok, tokens := b.tokens >= 1, b.tokens
	if ok {
		b.tokens--
	}
	sh.mu.Unlock()
	if ok {
		return true, 0
	}
	return false, time.Duration((1 - tokens) / l.rate * 1e9)
}

// newBucket returns a bucket for key in the table, dropping the least recent one (and
// reusing it) if the shard is full.
func (sh *limitShard) newBucket(key uint64) *bucket {
	var b *bucket
	if len(sh.buckets) >= sh.max {
		b = sh.lru.prev
		sh.unlink(b)
		delete(sh.buckets, b.key)
		*b = bucket{}
	} else {
		b = new(bucket)
	}
	b.key = key
	sh.buckets[key] = b
	return b
}

func (sh *limitShard) unlink(b *bucket) {
	b.prev.next, b.next.prev = b.next, b.prev
}

func (sh *limitShard) pushFront(b *bucket) {
	b.prev, b.next = &sh.lru, sh.lru.next
	sh.lru.next.prev = b
	sh.lru.next = b
}

// size returns the number of buckets kept.
func (l *rateLimiter) size() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += len(l.shards[i].buckets)
		l.shards[i].mu.Unlock()
	}
	return n
}

// retryAfter is the Retry-After value for a wait of d: whole seconds, at least 1.
func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
