package passthrough

import "testing"

// Go runs every task, each in its own goroutine while the others run: two tasks that
// wait for each other both finish (a busy worker is never handed a second task).
func TestGoRunsConcurrently(t *testing.T) {
	for range 3 { // the second and third rounds may reuse the first round's workers
		a, b := make(chan struct{}), make(chan struct{})
		done := make(chan struct{}, 2)
		Go(func() { close(a); <-b; done <- struct{}{} })
		Go(func() { <-a; close(b); done <- struct{}{} })
		<-done
		<-done
	}
}
