package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// The agent's Go runtime memory settings: --memory-limit and --gc-percent, over the standard
// GOMEMLIMIT and GOGC environment variables, over the agent's defaults.
//
// Defaults: the garbage collector's target stays Go's (GOGC=100: the heap may grow to twice
// what is live between collections). Lower values trade CPU for memory on every request. A
// larger live heap is collected less often but each collection marks more: at 10,000 sites
// (about 92 MB live, 54 MB of it scanned, 1.7 million pointers) a collection comes every
// 90 MB allocated, 3-5 s at 10-14k req/s, and costs about 85 ms of CPU, 2 µs per small
// request; one site collects at the heap floor below, every 60 MB, for about 5 ms (see
// tests/bench/README.md, "What the GC scans"). Fewer pointers kept per site closes that gap
// (tests/bench/README.md lists where they are), not a higher GOGC, which costs memory under
// load (250-270 MiB resident at 10,000 sites at 100). The memory limit defaults to 90 % of
// the memory limit of the agent's cgroup (a container's limit), if it has one: near that
// limit the GC works harder rather than let the kernel kill the agent. Without a cgroup
// limit there is none. The GC's heap goal is held at no less than --gc-heap-floor (64 MiB;
// gcfloor.go), so a small live heap is not collected every couple of seconds under traffic.

// memoryFlags are --memory-limit, --gc-percent and --gc-heap-floor.
type memoryFlags struct {
	limit     string // "auto", "off" or a size
	gcPercent string // "" (GOGC or Go's default), "off" or a percentage
	heapFloor string // a size, or "off"
}

func (m *memoryFlags) add(f *flag.FlagSet) {
	f.StringVar(&m.limit, "memory-limit", "auto", "soft memory limit of the agent's Go runtime (the GC works harder near it), e.g. 512MiB; auto: GOMEMLIMIT if set, else 90% of the cgroup's (container's) memory limit if any, else none; off: none [EDGE_MEMORY_LIMIT]")
	f.StringVar(&m.gcPercent, "gc-percent", "", "the Go GC's target: the heap grows this many percent over the live heap between collections; lower saves memory and costs CPU per request; empty: GOGC if set, else 100 [EDGE_GC_PERCENT]")
	f.StringVar(&m.heapFloor, "gc-heap-floor", "64MiB", "the Go GC does not collect before the heap reaches this size (at most a quarter of the memory limit): a small live heap is collected less often, which shortens the latency tail under traffic, and may hold up to this much; off: none [EDGE_GC_HEAP_FLOOR]")
}

// memorySettings is what apply sets; zero values leave the runtime as it is.
type memorySettings struct {
	limit       int64  // bytes; 0: unchanged
	limitFrom   string // "flag", "GOMEMLIMIT", "cgroup" or "none"
	gcPercent   int    // set when gcSet
	gcSet       bool
	gcPercentOf string // "flag", "GOGC" or "default"
	heapFloor   int64  // bytes; 0: none
}

// settings decides the memory settings from the flags, the environment and the cgroup
// limit read by cgroupLimit (0: none).
func (m *memoryFlags) settings(getenv func(string) string, cgroupLimit func() int64) (memorySettings, error) {
	var s memorySettings
	switch l := strings.TrimSpace(m.limit); {
	case l == "off":
		s.limitFrom = "none"
	case l == "auto" || l == "":
		switch {
		case getenv("GOMEMLIMIT") != "":
			s.limitFrom = "GOMEMLIMIT" // the runtime read it at start
		case cgroupLimit() > 0:
			s.limit, s.limitFrom = cgroupLimit()/10*9, "cgroup"
		default:
			s.limitFrom = "none"
		}
	default:
		n, err := parseBytes(l)
		if err != nil {
			return s, fmt.Errorf("--memory-limit %w", err)
		}
		s.limit, s.limitFrom = n, "flag"
	}
	switch g := strings.TrimSpace(m.gcPercent); {
	case g == "":
		s.gcPercentOf = "default"
		if getenv("GOGC") != "" {
			s.gcPercentOf = "GOGC"
		}
	case g == "off":
		s.gcPercent, s.gcSet, s.gcPercentOf = -1, true, "flag"
	default:
		n, err := strconv.Atoi(g)
		if err != nil || n < 10 || n > 10000 {
			return s, fmt.Errorf("--gc-percent %q: want a percentage from 10 to 10000, or off", g)
		}
		s.gcPercent, s.gcSet, s.gcPercentOf = n, true, "flag"
	}
	floor, err := parseHeapFloor(m.heapFloor)
	if err != nil {
		return s, fmt.Errorf("--gc-heap-floor %w", err)
	}
	s.heapFloor = floor
	return s, nil
}

// apply sets the runtime's memory limit and GC target and logs what they are.
func (s memorySettings) apply(log *slog.Logger) {
	if s.limit > 0 {
		debug.SetMemoryLimit(s.limit)
	}
	if s.gcSet {
		debug.SetGCPercent(s.gcPercent)
	}
	limit := debug.SetMemoryLimit(-1) // reads it
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	limitText := "none"
	if limit < 1<<62 {
		limitText = strconv.FormatInt(limit, 10)
	}
	floor := s.startHeapFloor(limit, gc)
	log.Info("go runtime memory", "memory_limit", limitText, "memory_limit_from", s.limitFrom,
		"gc_percent", gc, "gc_percent_from", s.gcPercentOf, "gc_heap_floor", floor)
}

// startHeapFloor starts the GC heap floor, at most a quarter of the memory limit, over the
// GC percent gc, and returns the floor in bytes (0: none, as when the GC is off).
func (s memorySettings) startHeapFloor(limit int64, gc int) int64 {
	floor := min(s.heapFloor, limit/4)
	if floor <= 0 || gc <= 0 {
		return 0
	}
	startGCFloor(floor, gc)
	return floor
}

// cgroupMemoryLimit returns the memory limit of the process's cgroup (v2, else v1) in
// bytes, or 0 when there is none or it cannot be read.
func cgroupMemoryLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := parseCgroupLimit(string(b))
		if err == nil {
			return n
		}
	}
	return 0
}

// parseCgroupLimit reads a cgroup memory limit file's content: "max" (v2) or a huge number
// (v1's "unlimited") mean no limit, 0.
func parseCgroupLimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		return 0, err
	case n <= 0:
		return 0, errors.New("not a limit")
	case n >= 1<<60:
		return 0, nil
	}
	return n, nil
}
