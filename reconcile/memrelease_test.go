package reconcile

import (
	"io"
	"log/slog"
	"testing"
)

// TestReleaseOnceAfterFirstPublish: memory is released after the first Step that published
// a snapshot, not before one is published (a first load refused), and only once.
func TestReleaseOnceAfterFirstPublish(t *testing.T) {
	a := &Agent{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	calls := 0
	release := func() { calls++ }
	a.releaseOnce(release) // nothing published yet
	if calls != 0 {
		t.Fatalf("released %d times before the first publish; want 0", calls)
	}
	a.generation = 1
	a.releaseOnce(release)
	a.generation = 2
	a.releaseOnce(release)
	if calls != 1 {
		t.Errorf("released %d times over two publishes; want 1", calls)
	}
}
