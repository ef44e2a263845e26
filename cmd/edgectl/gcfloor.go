package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
)

// The GC heap floor (--gc-heap-floor). With Go's default target (GOGC=100: collect once the
// heap has doubled over what is live) a small live heap is collected often under traffic:
// 1,000 sites hold about 12 MiB live, and at 1,000 req/s (5-6 KB allocated per request) the
// agent collected every 2 s. Each cycle marks for a few milliseconds on both cores, and the
// requests that arrive meanwhile wait: that made most of the agent's latency tail beyond the
// 99th percentile on a 2-core machine shared with the load. The agent keeps the GC's heap goal
// at no less than the floor: after each collection it raises the GC percent just enough for
// the next goal to reach the floor, never below the configured percent. A live heap of more
// than half the floor (10,000 sites) is collected exactly as before; a smaller one is
// collected less often and holds up to the floor between collections. The memory limit
// stays a ceiling: the floor is at most a quarter of it.

// defaultGCHeapFloor is --gc-heap-floor's default.
const defaultGCHeapFloor = 64 << 20

// goHeapMinimum is the Go runtime's least heap goal at GOGC=100; it scales with the GC
// percent (4 MiB x percent/100), so the percent is held to where it reaches the floor.
const goHeapMinimum = 4 << 20

// heapFloorPercent returns the GC percent that puts the next heap goal at floor for a live
// heap of live bytes with roots bytes of stacks and globals to scan (Go's goal is live +
// (live+roots) * percent/100, and at least goHeapMinimum * percent/100), or base if that is
// higher. Before the first collection (nothing live yet) the goal is the floor.
func heapFloorPercent(floor, live, roots int64, base int) int {
	scan := live + max(roots, 0)
	if floor <= live {
		return base
	}
	p := floor * 100 / goHeapMinimum
	if live > 0 && scan > 0 {
		p = min(p, (floor-live)*100/scan)
	}
	return max(base, int(min(p, math.MaxInt32))) // SetGCPercent keeps an int32
}

// gcFloor holds the heap goal at floor bytes at least, adjusting the GC percent after every
// collection.
type gcFloor struct {
	floor   int64
	base    int             // the configured GC percent (positive)
	set     func(int) int   // debug.SetGCPercent
	read    func() [3]int64 // live heap, stack and globals scanned by the last GC
	mu      sync.Mutex
	percent int // what set was last given
}

// gcSentinel is the object whose collection marks the end of a GC cycle; 32 bytes keep it
// out of the tiny allocator, whose blocks die together.
type gcSentinel struct{ _ [32]byte }

// startGCFloor sets the GC percent for floor now and after every collection from now on,
// base being the configured percent.
func startGCFloor(floor int64, base int) *gcFloor {
	g := &gcFloor{floor: floor, base: base, set: debug.SetGCPercent, read: readHeapMetrics}
	g.adjust()
	g.arm()
	return g
}

// arm has adjust (and arm again) run once the next collection has ended.
func (g *gcFloor) arm() {
	runtime.AddCleanup(new(gcSentinel), func(g *gcFloor) { g.adjust(); g.arm() }, g)
}

// adjust sets the GC percent for the heap the last collection left.
func (g *gcFloor) adjust() {
	m := g.read()
	p := heapFloorPercent(g.floor, m[0], m[1]+m[2], g.base)
	g.mu.Lock()
	defer g.mu.Unlock()
	if p != g.percent {
		g.percent = p
		g.set(p)
	}
}

// current returns the GC percent adjust last set.
func (g *gcFloor) current() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.percent
}

// heapMetricNames are what readHeapMetrics reads, in its order.
var heapMetricNames = [3]string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"}

// readHeapMetrics reads the live heap and the stacks and globals the last GC scanned.
func readHeapMetrics() [3]int64 {
	var s [3]metrics.Sample
	for i, n := range heapMetricNames {
		s[i].Name = n
	}
	metrics.Read(s[:])
	var out [3]int64
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			out[i] = int64(min(s[i].Value.Uint64(), 1<<62))
		}
	}
	return out
}

// parseHeapFloor parses --gc-heap-floor: a size (at least 1 MiB), or off/0 for none (0).
func parseHeapFloor(s string) (int64, error) {
	switch t := strings.TrimSpace(s); t {
	case "off", "0":
		return 0, nil
	case "":
		return defaultGCHeapFloor, nil
	}
	return parseSize(s, 1<<20)
}
