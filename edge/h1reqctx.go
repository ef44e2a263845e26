package edge

import (
	"context"
	"sync"
	"sync/atomic"
)

// h1ReqCtx is the context of a request the loop serves: the values of its parent (the
// connection's reqBase, which has no cancellation of its own), ended by cancel. It is
// what context.WithCancel(reqBase) gives, kept in the request's h1Response: no
// allocation for the context and its cancel function. It offers AfterFunc, so that a
// context made from it (context.WithCancel, context.AfterFunc) registers a function with
// it instead of starting a goroutine to wait for it (the context package's afterFuncer).
type h1ReqCtx struct {
	context.Context // the parent: Value and Deadline

	done  atomic.Value // chan struct{}, made by the first Done or by cancel
	mu    sync.Mutex
	err   error            // context.Canceled once cancelled
	after []*h1ReqCtxAfter // functions to run when cancelled
}

// h1ReqCtxAfter is one AfterFunc registration.
type h1ReqCtxAfter struct{ f func() }

// closedChan is the Done channel of a context cancelled before anyone asked for it.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Done implements context.Context.
func (c *h1ReqCtx) Done() <-chan struct{} {
	if d := c.done.Load(); d != nil {
		return d.(chan struct{})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.done.Load(); d != nil {
		return d.(chan struct{})
	}
	d := make(chan struct{})
	c.done.Store(d)
	return d
}

// Ends implements reqcancel.Ender: the context ends, its Done channel is never nil.
func (c *h1ReqCtx) Ends() bool { return true }

// Err implements context.Context. Without a Done channel the context is not cancelled
// yet (cancel sets err before it stores one): no lock.
func (c *h1ReqCtx) Err() error {
	if c.done.Load() == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// String is for debugging, as the context package's contexts have one.
func (c *h1ReqCtx) String() string { return "edge.h1ReqCtx" }

// cancel ends the context (context.Canceled) and runs the registered functions; later
// calls do nothing.
func (c *h1ReqCtx) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	if d := c.done.Load(); d != nil {
		close(d.(chan struct{}))
	} else {
		c.done.Store(closedChan)
	}
	after := c.after
	c.after = nil
	c.mu.Unlock()
	for _, a := range after {
		a.f()
	}
}

// AfterFunc arranges for f to run once the context ends (at once, in its own goroutine,
// if it has): the context package calls it for the contexts made from this one, with a
// function that cancels them, as a cancelCtx cancels its children. The returned stop
// reports whether it unregistered f before it ran.
func (c *h1ReqCtx) AfterFunc(f func()) (stop func() bool) {
	a := &h1ReqCtxAfter{f: f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.after = append(c.after, a)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.after {
			if x == a {
				c.after = append(c.after[:i], c.after[i+1:]...)
				return true
			}
		}
		return false
	}
}
