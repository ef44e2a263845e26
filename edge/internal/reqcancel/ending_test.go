package reqcancel

import (
	"context"
	"errors"
	"testing"
)

// An Ending ends once, with its first error: Done closes, Err reports it, the functions
// still registered run, the ones stopped do not, and a later AfterFunc runs at once.
func TestEndingEndsOnce(t *testing.T) {
	var e Ending
	if e.Err() != nil || e.DoneMade() {
		t.Fatal("a zero Ending has ended or made a Done channel")
	}
	done := e.Done()
	ran := make(chan string, 3)
	e.AfterFunc(func() { ran <- "kept" })
	stop := e.AfterFunc(func() { ran <- "stopped" })
	if !stop() || stop() {
		t.Fatal("stop: want true once, then false")
	}
	if n := e.Registered(); n != 1 {
		t.Fatalf("%d registered, want 1", n)
	}
	first := errors.New("first")
	if !e.End(first) || e.End(context.Canceled) {
		t.Fatal("End: want true once, then false")
	}
	<-done
	if got := <-ran; got != "kept" {
		t.Fatalf("ran %q, want kept", got)
	}
	if e.Err() != first {
		t.Fatalf("Err = %v, want the first error", e.Err())
	}
	late := e.AfterFunc(func() { ran <- "late" })
	if got := <-ran; got != "late" || late() {
		t.Fatalf("late AfterFunc: ran %q, stop true", got)
	}
}

// Ended before anyone asked for Done, its Done channel is closed.
func TestEndingDoneAfterEnd(t *testing.T) {
	var e Ending
	e.End(context.Canceled)
	select {
	case <-e.Done():
	default:
		t.Fatal("Done not closed after End")
	}
}
