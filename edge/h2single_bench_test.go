//go:build linux

package edge

import (
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
)

// BenchmarkH2ProxySingle is BenchmarkH2ProxyRaw at a moderate rate's concurrency: one
// connection with one request in flight at a time, as each of rateload's connections mostly
// has (tests/bench/peers.sh's p99 column: 1,000 req/s over 10 connections). Each request's
// response is the connection's last running handler's. Besides allocs/op and cpu-µs/op it
// reports the process's context switches per request (client, edge and upstream together,
// from getrusage): each is a thread that slept and had to be woken, which on a busy
// machine waits for a core and lengthens the latency tail.
func BenchmarkH2ProxySingle(b *testing.B) {
	addr := startH1ProxyOn(b, rawUpstream(b), "")
	c, err := dialH2Raw(addr, "h1.test", ca(b).Pool())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.roundTrips(1); err != nil { // the first request adds the header fields
		b.Fatal(err)
	}
	cpu0, cs0 := edgetest.ProcessCPU(), contextSwitches()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := c.roundTrips(1); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(edgetest.ProcessCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(contextSwitches()-cs0)/float64(b.N), "ctxsw/op")
}

// contextSwitches returns the process's voluntary and involuntary context switches so far.
func contextSwitches() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Nvcsw + ru.Nivcsw
}
