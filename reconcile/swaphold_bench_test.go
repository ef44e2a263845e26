package reconcile_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/schema/sitegen"
)

// BenchmarkAgentSwapHold10k: how long a one-site swap at 10,000 sites (poll of a local
// repo, validate, compile, publish, save to a state dir) keeps a goroutine that wants to run
// waiting, with one processor (GOMAXPROCS 1, so that the swap and the waiting goroutine share
// it as a request goroutine shares a P with the swap on a loaded server). A prober sleeps
// 100 µs over and over and records how late it wakes: late-max-ms is the longest wait over
// all swaps, late-p99-ms the 99th percentile of the wake-ups during swaps. Without yields in
// the swap's walks the waits reach Go's 10 ms preemption.
func BenchmarkAgentSwapHold10k(b *testing.B) {
	dir, keyDir := benchRepo(b, 10000)
	src, err := gitsource.New(gitsource.Options{URL: dir, StateDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	a := benchAgent(b, src, keyDir)
	if err := a.Step(context.Background()); err != nil {
		b.Fatal(err)
	}
	site := filepath.Join(dir, "sites", sitegen.SiteName(4242)+".cue")
	orig, err := os.ReadFile(site)
	if err != nil {
		b.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var lates []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if err := os.WriteFile(site, fmt.Appendf(nil, "%s\n// change %d\n", orig, i), 0o644); err != nil {
			b.Fatal(err)
		}
		gitCommit(b, dir, fmt.Sprint("change ", i))
		b.StartTimer()
		stop, done := probeLateness(&lates)
		err := a.Step(context.Background())
		stop.Store(true)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		if st := a.Status(); st.LastPoll.Outcome != "applied" {
			b.Fatalf("outcome %s", st.LastPoll.Outcome)
		}
	}
	b.StopTimer()
	slices.Sort(lates)
	if n := len(lates); n > 0 {
		b.ReportMetric(float64(lates[n-1].Microseconds())/1000, "late-max-ms")
		b.ReportMetric(float64(lates[n*99/100].Microseconds())/1000, "late-p99-ms")
	}
}

// probeLateness starts a goroutine that sleeps 100 µs over and over, appending to lates how
// late each wake-up came, until stop is set; done is closed when it has returned.
func probeLateness(lates *[]time.Duration) (stop *atomic.Bool, done chan struct{}) {
	stop, done = new(atomic.Bool), make(chan struct{})
	go func() {
		defer close(done)
		const nap = 100 * time.Microsecond
		for !stop.Load() {
			t0 := time.Now()
			time.Sleep(nap)
			*lates = append(*lates, max(time.Since(t0)-nap, 0))
		}
	}()
	return stop, done
}
