package proxy

import (
	"context"
	"net/url"
)

// Info records what the proxy did with one request, for access logs and metrics. Create a
// zero Info per request, attach it with WithInfo before calling Handler.ServeHTTP, and read
// it after ServeHTTP returns. Do not share one Info between requests.
type Info struct {
	// Upstream is the configured URL (an element of the route's Upstreams) of the last
	// upstream tried; nil if none was (no upstream up, or the request was refused earlier).
	Upstream *url.URL
	// Attempts is the number of upstreams tried: 1 normally, more after retries.
	Attempts int
	// Err is the error of the last attempt; nil when the upstream answered.
	Err error
	// Outcome is how the request ended when not normally: one of the Outcome constants
	// (client_closed, client_error, body_timeout, upstream_error, upstream_aborted), or
	// "" when the upstream's response was passed on whole. It is set even when
	// ServeHTTP ends by re-raising http.ErrAbortHandler.
	Outcome string
	// Batch, set by the server before ServeHTTP, batches the writes to the client's
	// connection while a response's body is copied (see Batcher); nil: none.
	Batch Batcher

	active  *upstream    // upstream whose in-flight count this request holds
	tried   uint64       // bit i: target i tried
	stuck   *target      // the target the request's sticky cookie named, if available
	body    *trackedBody // the request body, nil without one
	resBody upstreamBody // wraps the upstream's response body (a value: no allocation)
	errors  ErrorWriter  // the request's error pages (SetErrorWriter); nil: plain text

	// The storage of the upstream's response (readPlain), in the request's Info rather
	// than in an allocation of its own; used by one response only (plainSlot).
	plain      plainResponse
	plainTaken bool
}

// plainSlot returns the Info's storage for a response the first time, nil after.
func (info *Info) plainSlot() *plainResponse {
	if info.plainTaken {
		return nil
	}
	info.plainTaken = true
	return &info.plain
}

// Batcher holds back the writes of a response to the client's connection, so that they
// leave in fewer and larger writes. StartBatch starts holding them; EndBatch writes what
// is held and stops holding, returning the connection's write error. The proxy ends the
// batch before it waits for the upstream; a batch it leaves on when the response is
// complete is the server's to end (before it waits for the client's next request, or
// closes the connection).
type Batcher interface {
	StartBatch()
	EndBatch() error
}

type infoKey struct{}

// WithInfo returns ctx carrying info, for Handler to fill in.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// InfoContext is a context carrying an Info, as WithInfo's, for a caller to embed in its
// own per-request state instead of allocating one with WithInfo. Init sets it up; it
// keeps its parent's cancellation and values.
type InfoContext struct {
	context.Context
	info *Info
}

// Init makes c parent with info attached, as WithInfo(parent, info).
func (c *InfoContext) Init(parent context.Context, info *Info) { c.Context, c.info = parent, info }

// Value implements context.Context: info for WithInfo's key, else the parent's value.
func (c *InfoContext) Value(key any) any {
	if _, ok := key.(infoKey); ok {
		return c.info
	}
	return c.Context.Value(key)
}

// Parent implements reqcancel.ValueContext: c adds a value to its parent and nothing else.
func (c *InfoContext) Parent() context.Context { return c.Context }

// infoFrom returns the Info attached to ctx by WithInfo, or nil.
func infoFrom(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}
