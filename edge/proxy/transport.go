package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// errNoUpstream means active health checks mark every upstream of the route down.
var errNoUpstream = errors.New("proxy: no upstream up")

// roundTripper is a Handler seen as the ReverseProxy's transport: it picks the upstream,
// retries on another when safe, and keeps the passive health state.
type roundTripper Handler

func (rt *roundTripper) RoundTrip(out *http.Request) (*http.Response, error) {
	h := (*Handler)(rt)
	info := InfoFrom(out.Context())
	if info == nil {
		info = new(Info)
	}
	orig := *out.URL // the request's path and query, joined to each upstream's
	var body *trackedBody
	if out.Body != nil && out.Body != http.NoBody {
		body = &trackedBody{rc: out.Body}
		out.Body = body
	}
	req := out
	var lastErr error
	for attempt := 0; ; attempt++ {
		i := h.pick(info.tried)
		if i < 0 {
			if lastErr == nil {
				lastErr = errNoUpstream
			}
			return nil, lastErr
		}
		if i < 64 {
			info.tried |= 1 << i
		}
		t := &h.targets[i]
		if attempt > 0 {
			// The transport may still hold the previous request: send a copy.
			req = out.WithContext(out.Context())
		}
		u := orig
		req.URL = &u
		setTarget(req, t.url)
		info.Upstream = t.url
		info.Attempts++
		t.up.inflight.Add(1)
		res, err := t.up.transport.RoundTrip(req)
		if err == nil {
			info.active = t.up
			info.Err = nil
			t.up.succeeded()
			return res, nil
		}
		t.up.inflight.Add(-1)
		info.Err = err
		lastErr = err
		if out.Context().Err() != nil {
			return nil, err // the client went away: not the upstream's fault
		}
		if f := h.m.opts.OnUpstreamError; f != nil {
			f(t.url, err)
		}
		var de *dialError
		dial := errors.As(err, &de)
		if !dial && isTimeout(err) {
			// Waited for the response headers too long: the upstream is alive but slow,
			// and the request may be running there. Neither eject nor retry.
			return nil, err
		}
		t.up.failed(&h.m.opts)
		if attempt >= h.cfg.Retries {
			return nil, err
		}
		if dial {
			if body != nil && body.read.Load() {
				return nil, err
			}
		} else if body != nil || !idempotent(out.Method) {
			return nil, err
		}
	}
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// trackedBody remembers whether the request body was read, i.e. whether a failed attempt
// consumed what a retry would need. Its Close does nothing, so that a failed attempt
// (whose transport closes the body) leaves it for the next; ReverseProxy closes the body
// it wrapped when ServeHTTP ends.
type trackedBody struct {
	rc   io.ReadCloser
	read atomic.Bool // set by the transport's writer goroutine
}

func (b *trackedBody) Read(p []byte) (int, error) {
	if !b.read.Load() {
		b.read.Store(true)
	}
	return b.rc.Read(p)
}

func (b *trackedBody) Close() error { return nil }
