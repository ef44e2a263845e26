package h2srv

import (
	"context"
	"errors"
	"testing"

	"github.com/edgectl/edge/edge/internal/reqcancel"
	"golang.org/x/net/http2/hpack"
)

type ctxKey struct{}

// newTestStreamCtx returns a stream context of r, as newStream makes one.
func newTestStreamCtx(r *streamCtxs) *streamCtx {
	c := new(streamCtx)
	r.add(c)
	return c
}

func TestStreamCtxEndsWithStream(t *testing.T) {
	conn, cancelConn := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	defer cancelConn()
	r, stop := initStreamCtxs(conn)
	defer stop()
	c := newTestStreamCtx(r)
	if got := c.Value(ctxKey{}); got != "v" {
		t.Fatalf("Value = %v; want the connection's value v", got)
	}
	if c.Err() != nil {
		t.Fatalf("Err = %v before the end", c.Err())
	}
	done := c.Done()
	child, cancelChild := context.WithCancel(c) // registers through AfterFunc
	defer cancelChild()
	ran := make(chan struct{})
	reqcancel.AfterFunc(c, func() { close(ran) }) // the stream's hook
	c.cancel(context.Canceled)
	<-done
	<-child.Done()
	<-ran
	if !errors.Is(c.Err(), context.Canceled) || !errors.Is(child.Err(), context.Canceled) {
		t.Fatalf("Err = %v, child's %v; want context.Canceled", c.Err(), child.Err())
	}
	if got := context.Cause(c); !errors.Is(got, context.Canceled) {
		t.Fatalf("Cause = %v; want context.Canceled", got)
	}
	c.cancel(errors.New("again")) // no effect
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err after a second cancel = %v", c.Err())
	}
	if r.live != nil {
		t.Fatal("an ended context is still on the live list")
	}
}

func TestStreamCtxEndsWithConnection(t *testing.T) {
	conn, cancelConn := context.WithCancel(context.Background())
	r, stop := initStreamCtxs(conn)
	defer stop()
	a, b, c := newTestStreamCtx(r), newTestStreamCtx(r), newTestStreamCtx(r)
	b.cancel(context.Canceled) // ended first: off the list
	ran := make(chan struct{})
	stopHook := reqcancel.AfterFunc(a, func() { close(ran) })
	after := make(chan struct{})
	context.AfterFunc(c, func() { close(after) })
	cancelConn()
	<-a.Done()
	<-c.Done()
	<-ran
	<-after
	if stopHook.Stop() {
		t.Error("the hook's Stop reports it stopped a function that ran")
	}
	late := newTestStreamCtx(r) // after the connection ended: ended at once
	select {
	case <-late.Done():
	default:
		t.Fatal("a stream context made after the connection ended is not done")
	}
	if !errors.Is(late.Err(), context.Canceled) {
		t.Fatalf("Err = %v; want context.Canceled", late.Err())
	}
}

func TestStreamCtxHookStopped(t *testing.T) {
	r, stop := initStreamCtxs(context.Background())
	defer stop()
	c := newTestStreamCtx(r)
	reg := reqcancel.AfterFunc(context.WithValue(c, ctxKey{}, 1), func() { t.Error("stopped hook ran") })
	if !reg.Stop() {
		t.Fatal("Stop before the end reports false")
	}
	if reqcancel.Ends(c) != true {
		t.Fatal("Ends = false for a stream context")
	}
	c.cancel(context.Canceled)
	other := newTestStreamCtx(&streamCtxs{base: context.Background()})
	if r.Hook(other) != nil {
		t.Fatal("a connection gave the hook of another connection's stream")
	}
}

func TestRequestHeaderRepeatedKeys(t *testing.T) {
	sc := &serverConn{}
	h := sc.requestHeader([]hpack.HeaderField{{Name: "a", Value: "1"}, {Name: "b", Value: "2"},
		{Name: "a", Value: "3"}, {Name: "c", Value: "4"}})
	if got := h["A"]; len(got) != 2 || got[0] != "1" || got[1] != "3" {
		t.Fatalf("A = %q; want [1 3]", got)
	}
	if got := h["B"]; len(got) != 1 || got[0] != "2" {
		t.Fatalf("B = %q; want [2]", got)
	}
	h.Add("B", "5") // a handler adding a value must not overwrite C's
	if got := h["C"]; len(got) != 1 || got[0] != "4" {
		t.Fatalf("C = %q after adding to B; want [4]", got)
	}
}
