package proxy

import (
	"context"
	"testing"
	"time"
)

type testKey struct{}

// TestInfoContext: an InfoContext carries its Info as WithInfo's context does, and its
// parent's values and cancellation, to contexts made from it too.
func TestInfoContextEmbedded(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), testKey{}, "v"))
	info := &Info{}
	var c InfoContext
	c.Init(parent, info)
	if got := infoFrom(&c); got != info {
		t.Errorf("infoFrom = %p, want %p", got, info)
	}
	if got := c.Value(testKey{}); got != "v" {
		t.Errorf("parent's value %v, want v", got)
	}
	child, cancelChild := context.WithCancel(&c)
	defer cancelChild()
	if got := infoFrom(child); got != info {
		t.Errorf("child: infoFrom = %p, want %p", got, info)
	}
	if c.Done() != parent.Done() {
		t.Error("Done is not the parent's")
	}
	cancel()
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the child context did not end within 10 s of its parent")
	}
	if c.Err() != context.Canceled || child.Err() != context.Canceled {
		t.Errorf("errors %v, %v; want context.Canceled", c.Err(), child.Err())
	}
}
