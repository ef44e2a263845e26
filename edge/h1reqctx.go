package edge

import (
	"context"

	"github.com/edgectl/edge/edge/internal/reqcancel"
)

// h1ReqCtx is the context of a request the loop serves: the values of its parent (the
// connection's reqBase, which has no cancellation of its own), ended by cancel. It is
// what context.WithCancel(reqBase) gives, kept in the request's h1Response: no
// allocation for the context and its cancel function. It offers AfterFunc, so that a
// context made from it (context.WithCancel, context.AfterFunc) registers a function with
// it instead of starting a goroutine to wait for it (the context package's afterFuncer).
type h1ReqCtx struct {
	context.Context  // the parent: Value and Deadline
	reqcancel.Ending // Done, Err, AfterFunc
}

// Done implements context.Context.
func (c *h1ReqCtx) Done() <-chan struct{} { return c.Ending.Done() }

// Err implements context.Context.
func (c *h1ReqCtx) Err() error { return c.Ending.Err() }

// Ends implements reqcancel.Ender: the context ends, its Done channel is never nil.
func (c *h1ReqCtx) Ends() bool { return true }

// String is for debugging, as the context package's contexts have one.
func (c *h1ReqCtx) String() string { return "edge.h1ReqCtx" }

// cancel ends the context (context.Canceled) and runs the registered functions; later
// calls do nothing.
func (c *h1ReqCtx) cancel() { c.End(context.Canceled) }
