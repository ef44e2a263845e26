package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// errNoUpstream means active health checks mark every upstream of the route down.
var errNoUpstream = errors.New("proxy: no upstream up")

// errBadStatus is an upstream response whose status is outside 100-599.
var errBadStatus = errors.New("proxy: upstream answered an invalid status")

// errUpstreamAborted is passed to Options.OnUpstreamError when an upstream's response body
// failed mid-way.
var errUpstreamAborted = errors.New("proxy: upstream response aborted mid-body")

// roundTripper is a Handler seen as the ReverseProxy's transport: it picks the upstream,
// retries on another when safe, and keeps the passive health state.
type roundTripper Handler

func (rt *roundTripper) RoundTrip(out *http.Request) (*http.Response, error) {
	info := infoFrom(out.Context())
	if info == nil {
		info = new(Info)
	}
	if out.Body != nil && out.Body != http.NoBody {
		// The transport closes the body of a failed attempt, and ReverseProxy's wrapper
		// then refuses to be read: keep it open for the next attempt.
		out.Body = keepOpen{out.Body}
	}
	return (*Handler)(rt).roundTrip(out, info, nil)
}

// roundTrip sends out to one of the route's upstreams, retrying on another when safe:
// out is ReverseProxy's outbound request, or with head the incoming request of a direct
// forward (Handler.forward), which is not modified.
func (h *Handler) roundTrip(out *http.Request, info *Info, head *fwdHead) (*http.Response, error) {
	var orig url.URL // the request's path and query, joined to each upstream's
	if head == nil {
		orig = *out.URL
	}
	body := info.body
	req := out
	var lastErr error
	for attempt := 0; ; attempt++ {
		i := h.choose(out, info, attempt)
		if i < 0 {
			if lastErr == nil {
				lastErr = errNoUpstream
				info.Outcome = OutcomeUpstreamError
			}
			return nil, lastErr
		}
		if i < 64 {
			info.tried |= 1 << i
		}
		t := &h.targets[i]
		info.Upstream = t.url
		info.Attempts++
		t.up.inflight.Add(1)
		var res *http.Response
		var err error
		if head != nil {
			head.target = t.url
			res, err = t.up.fast.forward(out, head)
		} else {
			if attempt > 0 {
				// The transport may still hold the previous request: send a copy.
				req = out.WithContext(out.Context())
			}
			res, err = t.up.roundTrip(retarget(req, &orig, t.url))
		}
		if err == nil {
			return h.answered(t, info, res)
		}
		t.up.inflight.Add(-1)
		if body != nil && body.stalled.Load() {
			err = fmt.Errorf("%w (%v)", errBodyStalled, err)
		}
		info.Err = err
		lastErr = err
		if o := clientFault(out.Context(), body); o != "" {
			// The client went away, sent a malformed body or stalled it: not the
			// upstream's fault. Neither counted, ejected nor retried.
			info.Outcome = o
			return nil, err
		}
		info.Outcome = OutcomeUpstreamError
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

// retarget points req at base: the request's path and query (orig) joined to base's.
func retarget(req *http.Request, orig *url.URL, base *url.URL) *http.Request {
	u := *orig
	req.URL = &u
	setTarget(req, base)
	return req
}

// choose picks the target of an attempt: on the first, the one the request's sticky
// cookie names when it is available; otherwise a balanced one (pick). -1 means none.
func (h *Handler) choose(out *http.Request, info *Info, attempt int) int {
	if attempt == 0 {
		if i := h.stuckTarget(out, info.tried); i >= 0 {
			info.stuck = &h.targets[i]
			return i
		}
	}
	return h.pick(info.tried)
}

// answered takes the response of target t: it holds t's in-flight count until the
// handler ends, and refuses a status outside 100-599 (net/http cannot send it on) as the
// upstream's error, without ejecting: the upstream is up, but broken.
func (h *Handler) answered(t *target, info *Info, res *http.Response) (*http.Response, error) {
	if res.StatusCode < 100 || res.StatusCode > 599 {
		res.Body.Close()
		t.up.inflight.Add(-1)
		err := fmt.Errorf("%w: %d", errBadStatus, res.StatusCode)
		info.Err, info.Outcome = err, OutcomeUpstreamError
		if f := h.m.opts.OnUpstreamError; f != nil {
			f(t.url, err)
		}
		return nil, err
	}
	info.active = t.up
	info.Err, info.Outcome = nil, "" // an earlier attempt's failure is not this request's
	t.up.succeeded()
	if t.cookie != "" && info.stuck != t {
		// No cookie, or one naming another upstream (gone, down, or failed and retried
		// here): the client is pinned to the upstream that answered.
		res.Header.Add("Set-Cookie", t.cookie)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		// A 101's body is the upgraded connection: ReverseProxy needs its
		// io.ReadWriteCloser, so it is left unwrapped.
		info.resBody.ReadCloser = res.Body
		res.Body = &info.resBody
	}
	return res, nil
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// errBodyStalled: the upstream did not take the request body for the route's Timeouts.Body. It is
// a timeout (504): the upstream is alive but not reading, and is neither ejected nor retried.
var errBodyStalled = stallError{}

type stallError struct{}

func (stallError) Error() string {
	return "proxy: the upstream stopped taking the request body for the body timeout"
}
func (stallError) Timeout() bool { return true }

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// keepOpen is a request body whose Close does nothing; ReverseProxy closes the body it
// wrapped when ServeHTTP ends.
type keepOpen struct{ io.ReadCloser }

func (keepOpen) Close() error { return nil }
