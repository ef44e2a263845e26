package workers

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// goroutineID returns the calling goroutine's id, from its stack trace header.
func goroutineID() uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	buf = bytes.TrimPrefix(buf, []byte("goroutine "))
	id, _ := strconv.ParseUint(string(buf[:bytes.IndexByte(buf, ' ')]), 10, 64)
	return id
}

// waitFor waits until cond holds, or fails the test after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// funcPool returns a pool whose jobs are functions.
func funcPool(maxIdle int) *Pool[func()] {
	return &Pool[func()]{Run: func(f func()) { f() }, MaxIdle: maxIdle}
}

// TestPoolReuse: jobs run one after another run on one goroutine, parked between them,
// and the most recently parked worker is taken first.
func TestPoolReuse(t *testing.T) {
	p := funcPool(4)
	gids := make(chan uint64, 1)
	var first uint64
	for i := range 5 {
		p.Start(func() { gids <- goroutineID() })
		g := <-gids
		waitFor(t, "the worker parked", func() bool { return p.Idle() == 1 })
		if i == 0 {
			first = g
		} else if g != first {
			t.Fatalf("job %d ran on goroutine %d, want the reused worker %d", i, g, first)
		}
	}
	if n := p.Started(); n != 1 {
		t.Fatalf("%d workers started for sequential jobs; want 1", n)
	}

	// Two workers parked: the last one parked runs the next job.
	var release [2]chan struct{}
	var ids [2]uint64
	var wg sync.WaitGroup
	for i := range 2 {
		release[i] = make(chan struct{})
		wg.Add(1)
		p.Start(func() { ids[i] = goroutineID(); wg.Done(); <-release[i] })
	}
	wg.Wait()
	close(release[0])
	waitFor(t, "one worker parked", func() bool { return p.Idle() == 1 })
	close(release[1])
	waitFor(t, "both workers parked", func() bool { return p.Idle() == 2 })
	p.Start(func() { gids <- goroutineID() })
	if g := <-gids; g != ids[1] {
		t.Fatalf("job ran on goroutine %d, want the worker parked last (%d; first %d)", g, ids[1], ids[0])
	}
	if n := p.Started(); n != 2 {
		t.Fatalf("%d workers started; want 2", n)
	}
}

// TestPoolBounded: a pool keeps at most MaxIdle idle workers; the others exit once their
// job is done; idle workers take the next jobs without new goroutines.
func TestPoolBounded(t *testing.T) {
	const maxIdle, jobs = 4, 10
	p := funcPool(maxIdle)
	base := runtime.NumGoroutine()
	release := make(chan struct{})
	var started, ran atomic.Int32
	for range jobs {
		p.Start(func() { started.Add(1); <-release; ran.Add(1) })
	}
	waitFor(t, "all jobs started", func() bool { return started.Load() == jobs })
	if n := p.Idle(); n != 0 {
		t.Fatalf("%d idle workers while all run", n)
	}
	close(release)
	waitFor(t, "the workers done and parked", func() bool { return ran.Load() == jobs && p.Idle() == maxIdle })
	waitFor(t, "the workers beyond MaxIdle gone", func() bool { return runtime.NumGoroutine() <= base+maxIdle })
	gids := make(chan uint64, maxIdle)
	for range maxIdle {
		p.Start(func() { gids <- goroutineID() })
	}
	waitFor(t, "the reused workers parked again", func() bool { return len(gids) == maxIdle && p.Idle() == maxIdle })
	if n := runtime.NumGoroutine(); n > base+maxIdle {
		t.Errorf("%d goroutines, want at most %d: new workers started although %d were idle", n, base+maxIdle, maxIdle)
	}
	if n := p.Started(); n != jobs {
		t.Errorf("%d workers started; want %d", n, jobs)
	}
}

// TestPoolJobPanicRecovered: a job that recovers its own panic leaves its worker in the
// pool, and the caller of Start goes on.
func TestPoolJobPanicRecovered(t *testing.T) {
	recovered := make(chan any, 1)
	p := &Pool[string]{MaxIdle: 2, Run: func(msg string) {
		defer func() { recovered <- recover() }()
		panic(msg)
	}}
	for i := range 3 {
		p.Start("boom")
		if v := <-recovered; v != "boom" {
			t.Fatalf("job %d: recovered %v; want boom", i, v)
		}
		waitFor(t, "the worker parked after its panic", func() bool { return p.Idle() == 1 })
	}
	if n := p.Started(); n != 1 {
		t.Fatalf("%d workers started; want 1 (a worker whose job recovered is reused)", n)
	}
}

// TestPoolJobGoexit: a job that calls runtime.Goexit ends its worker only: it is not
// parked, and the pool starts another for the next job.
func TestPoolJobGoexit(t *testing.T) {
	p := funcPool(2)
	exited := make(chan struct{})
	p.Start(func() {
		defer close(exited)
		runtime.Goexit()
	})
	<-exited
	ran := make(chan struct{})
	p.Start(func() { close(ran) })
	<-ran
	waitFor(t, "the second worker parked", func() bool { return p.Idle() == 1 })
	if n := p.Started(); n != 2 {
		t.Fatalf("%d workers started; want 2 (the one that ran Goexit ended)", n)
	}
}

// TestPoolDropsJob: an idle worker holds no reference to the job it ran.
func TestPoolDropsJob(t *testing.T) {
	p := &Pool[*[1 << 10]byte]{Run: func(*[1 << 10]byte) {}, MaxIdle: 1}
	collected := make(chan struct{})
	func() {
		big := new([1 << 10]byte)
		runtime.AddCleanup(big, func(ch chan struct{}) { close(ch) }, collected)
		p.Start(big)
	}()
	waitFor(t, "the worker parked", func() bool { return p.Idle() == 1 })
	waitFor(t, "the job collected", func() bool {
		runtime.GC()
		select {
		case <-collected:
			return true
		default:
			return false
		}
	})
}
