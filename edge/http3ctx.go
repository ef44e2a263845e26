package edge

import (
	"context"

	"github.com/edgectl/edge/edge/internal/reqcancel"
)

// HTTP/3 request contexts with a reqcancel.Hook.
//
// quic-go gives each request context.WithCancel of the connection's context. The proxy
// registers its abort of the upstream request on it with reqcancel.AfterFunc, which on a
// plain cancelCtx is context.AfterFunc: its context, its stop function, and a map of
// children in the request's context (about four allocations per request, and the locks
// to register and unregister). Here the handler gets an h3ReqCtx instead: quic-go's
// context (its Done, Err, Deadline and values) with a Hook, and the connection's context
// carries h3CancelSource, so reqcancel.AfterFunc sets the hook. The hook is fired by
// quic-go's goroutine, which waits for the handler's worker anyway (h3WorkerPool.serve):
// it waits for quic-go's context to end too, and fires the hook when it does, as
// context.AfterFunc would have run the function.

// h3ReqCtx is the context of an HTTP/3 request as its handler sees it.
type h3ReqCtx struct {
	context.Context // quic-go's request context
	hook            reqcancel.Hook
}

// h3CancelSource is the reqcancel.Source of HTTP/3 connections' contexts.
type h3CancelSource struct{}

// Hook implements reqcancel.Source: the hook of the request whose context ctx is, or is
// under through value contexts only.
func (h3CancelSource) Hook(ctx context.Context) *reqcancel.Hook {
	if c, ok := reqcancel.Base(ctx).(*h3ReqCtx); ok {
		return &c.hook
	}
	return nil
}
