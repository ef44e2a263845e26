package h3srv

import (
	"context"

	"github.com/edgectl/edge/edge/internal/reqcancel"
)

// reqCtx is a request's context: the values of the connection's context, ended when the
// client stops the request (its stream's context ends: STOP_SENDING, a reset, or the
// connection's end) or when the handler has returned. It is kept in the stream's state
// (no allocation of its own) and offers AfterFunc, so contexts made from it register
// with it instead of starting a goroutine each.
type reqCtx struct {
	context.Context  // the connection's: Value and Deadline
	reqcancel.Ending // Done, Err, AfterFunc
	st               *stream
}

// Done implements context.Context.
func (c *reqCtx) Done() <-chan struct{} { return c.Ending.Done() }

// Err implements context.Context.
func (c *reqCtx) Err() error { return c.Ending.Err() }

// Ends implements reqcancel.Ender.
func (c *reqCtx) Ends() bool { return true }

// String is for debugging.
func (c *reqCtx) String() string { return "h3srv.reqCtx" }

// Hook implements reqcancel.Source for the connection's requests: the hook of the
// request whose context ctx is (or is under through value contexts only).
func (c *conn) Hook(ctx context.Context) *reqcancel.Hook {
	if rc, ok := reqcancel.Base(ctx).(*reqCtx); ok {
		return &rc.st.hook
	}
	return nil
}
