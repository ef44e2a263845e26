package reqcancel

import (
	"context"
	"testing"
	"time"
)

// source is a one-request Source, as a server loop's.
type source struct {
	ctx  context.Context
	hook Hook
}

func (s *source) Hook(ctx context.Context) *Hook {
	if ctx.Done() == s.ctx.Done() {
		return &s.hook
	}
	return nil
}

// newRequest returns a request context with s as its Source, as the h1 loop makes them.
func newRequest() (*source, context.Context, func()) {
	s := &source{}
	ctx, cancel := context.WithCancel(WithSource(context.Background(), s))
	s.ctx = ctx
	return s, ctx, func() { cancel(); s.hook.Fire() }
}

func await(t *testing.T, ran chan struct{}, want bool) {
	t.Helper()
	wait := 10 * time.Second
	if !want {
		wait = 50 * time.Millisecond // a negative: a late run would fail a later check too
	}
	select {
	case <-ran:
		if !want {
			t.Fatal("the function ran")
		}
	case <-time.After(wait):
		if want {
			t.Fatal("the function did not run within 10 s")
		}
	}
}

// TestAfterFuncUsesHook: registered on the request's own context, the function goes
// through the hook, runs on cancellation, and Stop then reports false.
func TestAfterFuncUsesHook(t *testing.T) {
	_, ctx, cancel := newRequest()
	ran := make(chan struct{}, 1)
	r := AfterFunc(ctx, func() { ran <- struct{}{} })
	if r.h == nil {
		t.Fatal("the request's own context: context.AfterFunc used, not the hook")
	}
	cancel()
	await(t, ran, true)
	if r.Stop() {
		t.Error("Stop after the function ran reports true")
	}
}

// TestAfterFuncStop: Stop before cancellation reports true once and the function never
// runs.
func TestAfterFuncStop(t *testing.T) {
	_, ctx, cancel := newRequest()
	ran := make(chan struct{}, 1)
	r := AfterFunc(ctx, func() { ran <- struct{}{} })
	if !r.Stop() {
		t.Error("first Stop reports false")
	}
	if r.Stop() {
		t.Error("second Stop reports true")
	}
	cancel()
	await(t, ran, false)
}

// TestAfterFuncAfterCancel: registered once the context has ended, the function runs at
// once, and a second registration works too (the first one stopped).
func TestAfterFuncAfterCancel(t *testing.T) {
	_, ctx, cancel := newRequest()
	cancel()
	ran := make(chan struct{}, 2)
	r := AfterFunc(ctx, func() { ran <- struct{}{} })
	await(t, ran, true)
	if r.Stop() {
		t.Error("Stop reports true for a function that ran")
	}
}

// TestAfterFuncFallsBack: a context made from the request's with a cancellation of its
// own, and a second registration while one is held, go through context.AfterFunc and
// keep its semantics.
func TestAfterFuncFallsBack(t *testing.T) {
	_, ctx, cancel := newRequest()
	defer cancel()
	child, cancelChild := context.WithCancel(ctx)
	ran := make(chan struct{}, 2)
	r := AfterFunc(child, func() { ran <- struct{}{} })
	if r.h != nil {
		t.Fatal("a child context with its own cancellation used the request's hook")
	}
	cancelChild()
	await(t, ran, true)

	first := AfterFunc(ctx, func() {})
	second := AfterFunc(ctx, func() { ran <- struct{}{} })
	if first.h == nil || second.h != nil {
		t.Fatalf("hook used by first %v, second %v; want the first only", first.h != nil, second.h != nil)
	}
	cancel()
	await(t, ran, true)
}

// TestAfterFuncWithoutSource: a context without a Source uses context.AfterFunc.
func TestAfterFuncWithoutSource(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{}, 1)
	r := AfterFunc(ctx, func() { ran <- struct{}{} })
	if r.h != nil {
		t.Fatal("hook used without a Source")
	}
	cancel()
	await(t, ran, true)
}

// valueCtx adds a value and nothing else, as a ValueContext.
type valueCtx struct{ context.Context }

func (c valueCtx) Parent() context.Context { return c.Context }

// lazyCtx is an Ender that counts the calls to Done.
type lazyCtx struct {
	context.Context
	dones int
}

func (c *lazyCtx) Done() <-chan struct{} { c.dones++; return c.Context.Done() }
func (c *lazyCtx) Ends() bool            { return true }

// TestBaseAndEnds: Base looks through ValueContexts only; Ends answers for an Ender under
// them without asking for its Done channel, and is Done() != nil for any other context.
func TestBaseAndEnds(t *testing.T) {
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lazy := &lazyCtx{Context: cctx}
	wrapped := valueCtx{valueCtx{lazy}}
	if got := Base(wrapped); got != context.Context(lazy) {
		t.Fatalf("Base = %v; want the lazy context", got)
	}
	if !Ends(wrapped) || lazy.dones != 0 {
		t.Fatalf("Ends = %v after %d Done calls; want true after none", Ends(wrapped), lazy.dones)
	}
	derived := context.WithValue(lazy, key{}, nil) // not a ValueContext: its Done is asked
	if got := Base(derived); got != derived {
		t.Fatalf("Base went through a context.WithValue")
	}
	if !Ends(derived) || lazy.dones == 0 {
		t.Fatal("Ends of a context.WithValue did not ask its Done")
	}
	if Ends(context.Background()) || Ends(valueCtx{context.Background()}) {
		t.Fatal("a context that never ends Ends")
	}
}
