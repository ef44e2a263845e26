package passthrough

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// setLoopFault makes making a loop fail with err (nil: no more), counting the attempts.
func setLoopFault(err error, attempts *atomic.Int32) {
	loopSet.making.Lock()
	defer loopSet.making.Unlock()
	if err == nil {
		loopSet.fault = nil
		return
	}
	loopSet.fault = func() error {
		attempts.Add(1)
		return err
	}
}

// failLoops makes every live loop fail with err, and waits until they are dead.
func failLoops(t *testing.T, err error) {
	t.Helper()
	var dying []*loop
	for i := range loopSet.slots {
		if l := loopSet.slots[i].Load(); l != nil && l.post(loopOp{fail: err}) {
			dying = append(dying, l)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, l := range dying {
		for !l.dead.Load() {
			if time.Now().After(deadline) {
				t.Fatal("a loop told to fail is still alive after 10 s")
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// allLoopsLive waits until pickLoop has made every loop again.
func allLoopsLive(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		live := 0
		for i := range loopSet.slots {
			if l := loopSet.slots[i].Load(); l != nil && !l.dead.Load() {
				live++
			}
		}
		if live == len(loopSet.slots) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d loops made again after 10 s", live, len(loopSet.slots))
		}
		pickLoop()
		time.Sleep(5 * time.Millisecond)
	}
}

// A loop that fails ends its connections with the failure; while loops cannot be made
// (epoll_create1 failing), Start refuses (the caller uses Pipe) and making one is tried
// again after loopRetry, not on every connection; once it can be made, Start uses a
// new loop, which carries bytes.
func TestLoopRetriedAfterFailure(t *testing.T) {
	echo := echoListener(t)
	logs := captureLogs(t)
	_, edgeSide := tcpPair(t)
	upSide, _ := tcpPair(t)
	r := startLoop(t, edgeSide, upSide, time.Minute)

	injected := errors.New("injected: epoll_create1: too many open files")
	var attempts atomic.Int32
	setLoopFault(injected, &attempts)
	t.Cleanup(func() {
		setLoopFault(nil, nil)
		allLoopsLive(t)
	})
	failLoops(t, injected)
	if err := r.wait(t); !errors.Is(err, injected) {
		t.Errorf("a connection of a failed loop ended with %v", err)
	}
	// Refused until the retry time, then tried again (and failing): refused still.
	deadline := time.Now().Add(10 * time.Second)
	for calls := 0; attempts.Load() == 0 || calls < 20; calls++ {
		if time.Now().After(deadline) {
			t.Fatal("making a loop not tried again within 10 s")
		}
		a, b := tcpPair(t)
		if _, ok := Start(a, b, time.Minute, func(bool, int64) {}, func(error) {}); ok {
			t.Fatal("Start took a connection with no loop to be made")
		}
		if attempts.Load() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// A refused Start leaves the connections to Pipe, an upstream from Open included
	// (Start must not have claimed its descriptor).
	if err := refusedThenPipe(t, echo); err != nil {
		t.Errorf("Pipe after a refused Start: %v", err)
	}
	if n, slots := attempts.Load(), int32(len(loopSet.slots)); n > 2*slots {
		t.Errorf("%d attempts to make %d loops: not held back", n, slots)
	}
	if logs.count("event loop failed") == 0 || logs.count("no event loop") == 0 {
		t.Error("the failure, or the retry, was not logged")
	}

	setLoopFault(nil, nil)
	deadline = time.Now().Add(10 * time.Second)
	for {
		if err := tryLoopEcho(t, echo); err == nil {
			break
		} else if !errors.Is(err, errRefused) || time.Now().After(deadline) {
			t.Fatalf("after the fault: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var errRefused = errors.New("Start refused")

// tryLoopEcho echoes a few bytes through a loop; errRefused when Start refuses.
func tryLoopEcho(t *testing.T, echo string) error {
	client, edgeSide := tcpPair(t)
	upSide, err := net.Dial("tcp", echo)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	_, ok := Start(edgeSide, upSide, time.Minute, func(bool, int64) {}, func(err error) {
		edgeSide.Close()
		upSide.Close()
		done <- err
	})
	if !ok {
		upSide.Close()
		return errRefused
	}
	client.Write([]byte("ping"))
	client.CloseWrite()
	if got, err := io.ReadAll(client); err != nil || string(got) != "ping" {
		return fmt.Errorf("echo %q, %v", got, err)
	}
	return <-done
}

// refusedThenPipe echoes through Pipe connections Start refused (no loop to be had): a
// client and an upstream from Pool.Open.
func refusedThenPipe(t *testing.T, echo string) error {
	upSide, u, err := openEcho(echo)
	if err != nil {
		return err
	}
	defer u.Done()
	client, edgeSide := tcpPair(t)
	if _, ok := Start(edgeSide, upSide, time.Minute, func(bool, int64) {}, func(error) {}); ok {
		return errors.New("Start took the connection")
	}
	errc := make(chan error, 1)
	go func() {
		errc <- Pipe(edgeSide, upSide, time.Minute, func(bool, int64) {})
		edgeSide.Close()
		upSide.Close()
	}()
	client.Write([]byte("ping"))
	client.CloseWrite()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	if got, err := io.ReadAll(client); err != nil || string(got) != "ping" {
		return fmt.Errorf("echo %q, %v", got, err)
	}
	return <-errc
}
