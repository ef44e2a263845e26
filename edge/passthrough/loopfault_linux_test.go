package passthrough

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// within fails the test unless done is closed within 10 s.
func within(t *testing.T, what string, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not within 10 s", what)
	}
}

// setHooks installs h for the test.
func setHooks(t *testing.T, h *loopTestHooks) {
	loopHooks.Store(h)
	t.Cleanup(func() { loopHooks.Store(nil) })
}

// Connections handed to loops whose client has already sent its bytes and half-closed
// (its first readiness is there at registration: edge-triggered, a lost first event
// would never come again), half of them killed right after Start: no event reaches a
// connection before both its sockets are registered, every connection ends exactly once,
// none hangs (its idle timeout is a minute), and those not killed carry their bytes.
func TestLoopRegistrationRace(t *testing.T) {
	echo := echoListener(t)
	var mu sync.Mutex
	registered := map[*lconn]int{}
	var early atomic.Int32
	setHooks(t, &loopTestHooks{
		registered: func(c *lconn, side int) {
			mu.Lock()
			registered[c] = side + 1
			mu.Unlock()
		},
		event: func(c *lconn) {
			mu.Lock()
			if registered[c] != 2 {
				early.Add(1)
			}
			mu.Unlock()
		},
	})
	const n = 100
	ends := make([]atomic.Int32, n)
	var wg sync.WaitGroup
	for i := range n {
		client, edgeSide := tcpPair(t)
		upSide, err := net.Dial("tcp", echo)
		if err != nil {
			t.Fatal(err)
		}
		client.Write([]byte("hello"))
		client.CloseWrite()
		errc := make(chan error, 1)
		h, ok := Start(edgeSide, upSide, time.Minute, func(bool, int64) {}, func(err error) {
			ends[i].Add(1)
			edgeSide.Close()
			upSide.Close()
			errc <- err
		})
		if !ok {
			t.Fatal("Start refused TCP connections")
		}
		kill := i%2 == 1
		if kill {
			h.Kill()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, _ := io.ReadAll(client)
			err := <-errc
			if !kill && (err != nil || string(got) != "hello") {
				t.Errorf("connection %d: echo %q, end %v", i, got, err)
			}
			if kill && err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("killed connection %d ended with %v", i, err)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	within(t, "every connection ended", done)
	for i := range ends {
		if e := ends[i].Load(); e != 1 {
			t.Errorf("connection %d ended %d times", i, e)
		}
	}
	if e := early.Load(); e > 0 {
		t.Errorf("%d events reached connections half registered", e)
	}
}

// The loop splices without its mutex: the splice hook finds it free (TryLock) on every
// splice of a 4 MiB echo, so Start and Kill never wait for another connection's copy.
func TestLoopUnlockedSplice(t *testing.T) {
	var calls, held atomic.Int32
	setHooks(t, &loopTestHooks{splice: func(l *loop) {
		calls.Add(1)
		if !l.mu.TryLock() {
			held.Add(1)
			return
		}
		l.mu.Unlock()
	}})
	if err := loopEcho(t, echoListener(t), 4<<20); err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 {
		t.Fatal("the splice hook was not called")
	}
	if h := held.Load(); h > 0 {
		t.Errorf("the loop's mutex was held during %d of %d splices", h, calls.Load())
	}
}

// A splice that takes its time (the hook blocks the loop's goroutine in it) holds up no
// Start or Kill of other connections on the same loop.
func TestLoopStartNotBlockedBySplice(t *testing.T) {
	echo := echoListener(t)
	block, blocked := make(chan struct{}), make(chan *loop, 1)
	var first atomic.Bool
	setHooks(t, &loopTestHooks{splice: func(l *loop) {
		if !first.Swap(true) {
			blocked <- l
			<-block
		}
	}})
	var unblock sync.Once
	t.Cleanup(func() { unblock.Do(func() { close(block) }) }) // also when the test fails
	client, edgeSide := tcpPair(t)
	upSide, err := net.Dial("tcp", echo)
	if err != nil {
		t.Fatal(err)
	}
	r := startLoop(t, edgeSide, upSide, time.Minute)
	client.Write([]byte("x"))
	var slow *loop
	select {
	case slow = <-blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("no splice")
	}
	started := make(chan struct{})
	go func() {
		defer close(started)
		for range 2 * len(loopSet.slots) { // round robin: the slow loop's turn comes
			_, a := tcpPair(t)
			b, _ := tcpPair(t)
			h, ok := Start(a, b, time.Minute, func(bool, int64) {}, func(error) { a.Close(); b.Close() })
			if ok && h.c.l == slow {
				h.Kill()
			}
		}
	}()
	within(t, "Start and Kill while a splice of the loop takes its time", started)
	unblock.Do(func() { close(block) })
	client.CloseWrite()
	if got, err := io.ReadAll(client); err != nil || string(got) != "x" {
		t.Errorf("echo %q, %v", got, err)
	}
	if err := r.wait(t); err != nil {
		t.Error(err)
	}
}

// capture is a slog handler keeping the messages logged.
type capture struct {
	mu   sync.Mutex
	msgs []string
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, r.Message)
	c.mu.Unlock()
	return nil
}
func (c *capture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *capture) WithGroup(string) slog.Handler      { return c }

// count returns how many messages contain s.
func (c *capture) count(s string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

// captureLogs sets a capturing logger for the test.
func captureLogs(t *testing.T) *capture {
	c := &capture{}
	SetLogger(slog.New(c))
	t.Cleanup(func() { SetLogger(nil) })
	return c
}

// With no pipe to be had (pipe2 failing with EMFILE), connections do not fail: a loop's
// and Pipe's (with an upstream from Open, which Pipe splices itself) copy through user
// space, all bytes intact; each direction is counted, and the fallback logged once.
func TestPipeEMFILEFallsBackToCopy(t *testing.T) {
	logs := captureLogs(t)
	fallbackLogged.Store(false)
	pipeFault.Store(true)
	t.Cleanup(func() { pipeFault.Store(false) })
	echo := echoListener(t)
	before := CopyFallbacks()
	for range 3 {
		if err := loopEcho(t, echo, 1<<20); err != nil {
			t.Fatalf("loop: %v", err)
		}
	}
	if n := CopyFallbacks() - before; n != 6 {
		t.Errorf("loop: %d fallbacks counted, want 6 (2 per connection)", n)
	}
	before = CopyFallbacks()
	if err := pipeEcho(t, echo, 1<<20); err != nil {
		t.Fatalf("Pipe: %v", err)
	}
	if n := CopyFallbacks() - before; n != 2 {
		t.Errorf("Pipe: %d fallbacks counted, want 2", n)
	}
	if n := logs.count("no pipe for splice"); n != 1 {
		t.Errorf("fallback logged %d times, want once", n)
	}
}

// pipeEcho sends size random bytes through Pipe, to echo by an upstream connection from
// Pool.Open, and checks they come back.
func pipeEcho(t *testing.T, echo string, size int) error {
	upSide, u, err := openEcho(echo)
	if err != nil {
		return err
	}
	defer u.Done()
	client, edgeSide := tcpPair(t)
	errc := make(chan error, 1)
	go func() {
		errc <- Pipe(edgeSide, upSide, time.Minute, func(bool, int64) {})
		edgeSide.Close()
		upSide.Close()
	}()
	if err := echoRoundTrip(client, size); err != nil {
		return err
	}
	return <-errc
}
