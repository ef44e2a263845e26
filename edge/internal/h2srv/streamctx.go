package h2srv

import (
	"context"
	"sync"

	"github.com/edgectl/edge/edge/internal/reqcancel"
)

// edge: stream contexts without allocations of their own (README.md, "Changes").
//
// Upstream, every stream's context is context.WithCancel(the connection's base context):
// two allocations, a registration with the parent, and, for a proxied request, a
// context.AfterFunc of the proxy (three more, and a map of children). Here the context is
// a streamCtx in the stream itself: the connection's values, ended by the stream's
// cancelCtx, or by the connection's context ending (one context.AfterFunc per
// connection, streamCtxs.cancelAll). It is the connection's reqcancel.Source: the proxy's
// abort of its upstream request is the stream's hook, as with edge's HTTP/1.1 loop.

// streamCtxs holds the live stream contexts of one connection, to end them when the
// connection's context ends. It is the connection's reqcancel.Source.
type streamCtxs struct {
	base context.Context // the connection's values, without its cancellation, and the Source

	mu    sync.Mutex
	ended error      // the connection's context's error, once it ended
	live  *streamCtx // a list through next and prev, not ended yet
}

// initStreamCtxs returns the streamCtxs of a connection whose context is ctx, and a
// function that stops following ctx (call it before ctx is cancelled at the end).
func initStreamCtxs(ctx context.Context) (*streamCtxs, func() bool) {
	r := &streamCtxs{}
	r.base = reqcancel.WithSource(context.WithoutCancel(ctx), r)
	return r, context.AfterFunc(ctx, func() { r.cancelAll(ctx.Err()) })
}

// Hook implements reqcancel.Source: the hook of the stream whose context ctx is, or is
// under through value contexts only.
func (r *streamCtxs) Hook(ctx context.Context) *reqcancel.Hook {
	if c, ok := reqcancel.Base(ctx).(*streamCtx); ok && c.reg == r {
		return &c.hook
	}
	return nil
}

// add makes c, zero, a live context of r's connection (ended at once if the connection's
// context has).
func (r *streamCtxs) add(c *streamCtx) {
	c.Context, c.reg = r.base, r
	r.mu.Lock()
	err := r.ended
	if err == nil {
		c.next = r.live
		if r.live != nil {
			r.live.prev = c
		}
		r.live, c.linked = c, true
	}
	r.mu.Unlock()
	if err != nil {
		c.cancel(err)
	}
}

// remove takes c off the live list, if it is on it.
func (r *streamCtxs) remove(c *streamCtx) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !c.linked {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		r.live = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	}
	c.prev, c.next, c.linked = nil, nil, false
}

// cancelAll ends every live context with err, the connection's context's error, and
// every one added later.
func (r *streamCtxs) cancelAll(err error) {
	r.mu.Lock()
	r.ended = err
	var all []*streamCtx
	for c := r.live; c != nil; c = c.next {
		all = append(all, c)
	}
	for _, c := range all {
		c.prev, c.next, c.linked = nil, nil, false
	}
	r.live = nil
	r.mu.Unlock()
	for _, c := range all {
		c.cancel(err)
	}
}

// streamCtx is a stream's context (and request's): what context.WithCancel of the
// connection's context gives, kept in the stream.
type streamCtx struct {
	context.Context  // the connection's values: Value, Deadline
	reqcancel.Ending // Done, Err, AfterFunc

	reg  *streamCtxs
	hook reqcancel.Hook

	prev, next *streamCtx // in reg.live, under reg.mu
	linked     bool
}

// Done implements context.Context.
func (c *streamCtx) Done() <-chan struct{} { return c.Ending.Done() }

// Err implements context.Context.
func (c *streamCtx) Err() error { return c.Ending.Err() }

// Ends implements reqcancel.Ender: the context ends, its Done channel is never nil.
func (c *streamCtx) Ends() bool { return true }

// String is for debugging, as the context package's contexts have one.
func (c *streamCtx) String() string { return "h2srv.streamCtx" }

// cancel ends the context with err, runs the functions registered with AfterFunc and
// fires the hook; later calls do nothing.
func (c *streamCtx) cancel(err error) {
	if !c.End(err) {
		return
	}
	c.reg.remove(c)
	c.hook.Fire()
}

// cancelCtx ends the stream's context (context.Canceled).
func (st *stream) cancelCtx() { st.ctx.cancel(context.Canceled) }
