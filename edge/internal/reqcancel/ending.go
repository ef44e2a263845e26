package reqcancel

import (
	"sync"
	"sync/atomic"
)

// Ending is the cancellation half of a context that a server loop keeps in its
// per-request or per-stream state, as context.WithCancel's would be, without an
// allocation of its own: its error, a Done channel made only when asked for, and the
// functions registered with AfterFunc. The zero value has not ended. A context type
// embeds it beside its parent (for Value and Deadline) and forwards Done and Err to it.
type Ending struct {
	done  atomic.Value // chan struct{}, made by the first Done or by End
	mu    sync.Mutex
	err   error
	after []*afterReg // functions to run when ended
}

// afterReg is one AfterFunc registration.
type afterReg struct{ f func() }

// closedChan is the Done channel of an Ending ended before anyone asked for it.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Done is context.Context's Done.
func (e *Ending) Done() <-chan struct{} {
	if d := e.done.Load(); d != nil {
		return d.(chan struct{})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if d := e.done.Load(); d != nil {
		return d.(chan struct{})
	}
	d := make(chan struct{})
	e.done.Store(d)
	return d
}

// DoneMade reports whether a Done channel was made or End ran.
func (e *Ending) DoneMade() bool { return e.done.Load() != nil }

// Err is context.Context's Err. Without a Done channel it has not ended (End sets err
// before it stores one): no lock.
func (e *Ending) Err() error {
	if e.done.Load() == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// End ends it with err (not nil) and runs the registered functions; false when it had
// ended already.
func (e *Ending) End(err error) bool {
	e.mu.Lock()
	if e.err != nil {
		e.mu.Unlock()
		return false
	}
	e.err = err
	if d := e.done.Load(); d != nil {
		close(d.(chan struct{}))
	} else {
		e.done.Store(closedChan)
	}
	after := e.after
	e.after = nil
	e.mu.Unlock()
	for _, a := range after {
		a.f()
	}
	return true
}

// Registered is how many AfterFunc functions wait for the end.
func (e *Ending) Registered() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.after)
}

// AfterFunc arranges for f to run once it ends (at once, in its own goroutine, if it
// has): the context package calls it for the contexts made from the embedding one (its
// afterFuncer), with a function that cancels them, as a cancelCtx cancels its children,
// instead of starting a goroutine to wait. The returned stop reports whether it
// unregistered f before it ran.
func (e *Ending) AfterFunc(f func()) (stop func() bool) {
	a := &afterReg{f: f}
	e.mu.Lock()
	if e.err != nil {
		e.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	e.after = append(e.after, a)
	e.mu.Unlock()
	return func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for i, x := range e.after {
			if x == a {
				e.after = append(e.after[:i], e.after[i+1:]...)
				return true
			}
		}
		return false
	}
}
