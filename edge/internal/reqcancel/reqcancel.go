// Package reqcancel lets a server loop offer a cheaper context.AfterFunc for the
// contexts of the requests it serves, and a client of those requests (the reverse proxy)
// use it. context.AfterFunc on a request's cancelCtx costs about five allocations per
// call (its context, its stop function, the parent's children map); a Hook embedded in
// the server's per-request state costs none.
package reqcancel

import (
	"context"
	"sync"
)

// key is the context key under which a server loop puts its Source.
type key struct{}

// WithSource returns ctx with s as its Source: put it on the connection's base context,
// from which the requests' contexts are made.
func WithSource(ctx context.Context, s Source) context.Context {
	return context.WithValue(ctx, key{}, s)
}

// Source is what a server loop offers in its requests' contexts.
type Source interface {
	// Hook returns the hook of the request being served if ctx ends exactly when the
	// context the loop cancels does (it is that context, or made from it by
	// ValueContexts, or has its Done channel), else nil (a context made from it with a
	// cancellation of its own, or a request not current).
	Hook(ctx context.Context) *Hook
}

// ValueContext is a context that adds values to its parent and nothing else: its Done,
// Err and Deadline are those of Parent. Base and Ends look through it.
type ValueContext interface {
	context.Context
	Parent() context.Context
}

// Ender is a context whose Done channel is made when first asked for (an allocation):
// Ends reports whether it is, or will be, non-nil without making it.
type Ender interface {
	context.Context
	Ends() bool
}

// Base returns ctx without its ValueContexts: the context whose Done, Err and Deadline
// ctx's are.
func Base(ctx context.Context) context.Context {
	for {
		v, ok := ctx.(ValueContext)
		if !ok {
			return ctx
		}
		ctx = v.Parent()
	}
}

// Ends reports whether ctx can end (ctx.Done() != nil), making no Done channel when its
// Base is an Ender.
func Ends(ctx context.Context) bool {
	if e, ok := Base(ctx).(Ender); ok {
		return e.Ends()
	}
	return ctx.Done() != nil
}

// Hook runs one registered function when its request's context ends, as
// context.AfterFunc does. The zero Hook is ready; it belongs to one request.
type Hook struct {
	mu    sync.Mutex
	f     func()
	fired bool // Fire was called
}

// Registration is an AfterFunc's: Stop unregisters its function.
type Registration struct {
	h    *Hook
	stop func() bool
}

// Stop reports whether it stopped the function from being run, as context.AfterFunc's
// stop function.
func (r Registration) Stop() bool {
	if r.h != nil {
		return r.h.Stop()
	}
	return r.stop()
}

// AfterFunc arranges for f to run in its own goroutine once ctx ends, as
// context.AfterFunc(ctx, f) does: through the hook of ctx's Source when ctx ends with the
// request the Source cancels (Source.Hook), else through context.AfterFunc.
func AfterFunc(ctx context.Context, f func()) Registration {
	if s, ok := ctx.Value(key{}).(Source); ok {
		if h := s.Hook(ctx); h != nil && h.set(f) {
			return Registration{h: h}
		}
	}
	return Registration{stop: context.AfterFunc(ctx, f)}
}

// set registers f; false if a function is registered already (the caller falls back to
// context.AfterFunc). When the request's context has ended already, f runs at once in its
// own goroutine.
func (h *Hook) set(f func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f != nil {
		return false
	}
	if h.fired {
		go f()
		return true // stop reports false: f has started, as context.AfterFunc's would
	}
	h.f = f
	return true
}

// Stop unregisters the function; it reports whether it stopped it from being run
// (false: it has run or started, or Stop was called before), as context.AfterFunc's stop.
func (h *Hook) Stop() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil || h.fired {
		h.f = nil
		return false
	}
	h.f = nil
	return true
}

// Fire is called by the loop once it has cancelled the request's context: the registered
// function, if any, runs in its own goroutine. Later calls do nothing.
func (h *Hook) Fire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fired {
		return
	}
	h.fired = true
	if h.f != nil {
		go h.f()
	}
}
