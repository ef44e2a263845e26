package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestHeapFloorPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name               string
		floor, live, roots int64
		base, want         int
	}{
		{"small heap: goal at the floor", 64 * mib, 12 * mib, 4 * mib, 100, 325},
		{"no roots", 64 * mib, 16 * mib, 0, 100, 300},
		{"live above half the floor: base", 64 * mib, 40 * mib, 0, 100, 100},
		{"live above the floor: base", 64 * mib, 200 * mib, mib, 100, 100},
		{"a higher base wins", 64 * mib, 12 * mib, 4 * mib, 400, 400},
		{"nothing live yet: the floor", 64 * mib, 0, 0, 100, 1600},
		{"nothing live yet, a small floor: base", 2 * mib, 0, 0, 100, 100},
		{"tiny heap: Go's minimum goal at the floor", 64 * mib, 64 << 10, 0, 100, 1600},
	} {
		if got := heapFloorPercent(tc.floor, tc.live, tc.roots, tc.base); got != tc.want {
			t.Errorf("%s: heapFloorPercent(%d, %d, %d, %d) = %d; want %d", tc.name, tc.floor, tc.live, tc.roots, tc.base, got, tc.want)
		}
		if p := heapFloorPercent(tc.floor, tc.live, tc.roots, tc.base); p > tc.base {
			// Go's heap goal: at least its minimum, which scales with the percent.
			goal := max(tc.live+(tc.live+tc.roots)*int64(p)/100, goHeapMinimum*int64(p)/100)
			if goal > tc.floor || goal < tc.floor-tc.floor/100 {
				t.Errorf("%s: goal %d for floor %d", tc.name, goal, tc.floor)
			}
		}
	}
	// A floor past what an int32 percent reaches (SetGCPercent's) is held there, not wrapped
	// to a negative percent, which would turn the GC off.
	if got := heapFloorPercent(1<<50, 0, 0, 100); got != math.MaxInt32 {
		t.Errorf("heapFloorPercent(1 PiB, ...) = %d; want %d", got, math.MaxInt32)
	}
}

// TestGCFloorFollowsCollections: the percent is set at start and set again after a
// collection that changed the live heap.
func TestGCFloorFollowsCollections(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	live := make(chan int64, 1)
	live <- 16 << 20
	set := make(chan int, 8)
	g := &gcFloor{floor: 64 << 20, base: 100,
		set: func(p int) int { set <- p; return 0 },
		read: func() [3]int64 {
			select {
			case l := <-live:
				return [3]int64{l, 0, 0}
			default:
				return [3]int64{32 << 20, 0, 0}
			}
		}}
	g.adjust()
	if p := <-set; p != 300 {
		t.Fatalf("first percent %d; want 300 (16 MiB live, 64 MiB floor)", p)
	}
	g.arm()
	deadline := time.After(time.Minute) // a failure bound only
	for {
		runtime.GC()
		select {
		case p := <-set:
			if p != 100 || g.current() != 100 {
				t.Fatalf("after a collection: percent %d (current %d); want 100 (32 MiB live)", p, g.current())
			}
			return
		case <-deadline:
			t.Fatal("no adjustment after collections")
		default:
		}
	}
}

func TestParseHeapFloor(t *testing.T) {
	for in, want := range map[string]int64{"": defaultGCHeapFloor, "off": 0, "0": 0, "32MiB": 32 << 20, " 1GiB ": 1 << 30} {
		if got, err := parseHeapFloor(in); err != nil || got != want {
			t.Errorf("parseHeapFloor(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"lots", "-1", "512KiB"} {
		if _, err := parseHeapFloor(in); err == nil {
			t.Errorf("parseHeapFloor(%q) accepted", in)
		}
	}
}
