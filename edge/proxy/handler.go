package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/edgectl/edge/edge/site"
	"golang.org/x/net/http/httpguts"
)

// Handler proxies the requests of one route. Get it from Manager.Handler; it is safe for
// concurrent use and never changes after it is returned.
type Handler struct {
	m       *Manager
	cfg     config // defaults applied
	targets []target
	rp      atomic.Pointer[httputil.ReverseProxy] // built by the first request that needs it (reverseproxy.go)
	rr      atomic.Uint64
	gen     uint64 // guarded by m.mu

	// weighted: the upstreams have unequal weights; mu guards the targets' smooth
	// weighted round robin state (current, load, ok).
	weighted bool
	mu       sync.Mutex
	// tokens maps a sticky cookie value to its target; nil without Sticky.
	tokens map[string]int

	retryAfter string // Retry-After of 503s: the health-check interval in seconds
}

type target struct {
	up     *upstream
	url    *url.URL // as configured: base path and query are joined to the request's
	weight int      // from 1 to site.MaxWeight
	cookie string   // the Set-Cookie value naming this target; "" without Sticky

	current int   // smooth weighted round robin's current weight; guarded by Handler.mu
	load    int64 // in flight, as pickWeighted read it; guarded by Handler.mu
	ok      bool  // may take part in pickWeighted's choice; guarded by Handler.mu
}

func newHandler(m *Manager, c config) *Handler {
	h := &Handler{m: m, cfg: c, retryAfter: "1", weighted: weighted(&c)}
	if c.HealthCheck != nil {
		h.retryAfter = strconv.Itoa(max(1, int(c.HealthCheck.Interval.Seconds())))
	}
	return h
}

// ServeHTTP proxies r to one of the route's upstreams. However it ends (response
// complete, error answered, or aborted mid-body by a panic of http.ErrAbortHandler), the
// upstream's in-flight count is released and Info.Outcome says how; an abort is re-raised
// so that net/http still resets the stream.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := infoFrom(r.Context())
	if info == nil {
		info = new(Info)
		r = r.WithContext(WithInfo(r.Context(), info))
	}
	if !validMethod(r.Method) || !httpguts.ValidHostHeader(r.Host) {
		// Only HTTP/2 lets these through (HTTP/1.1 parsing refuses them); the transport
		// would refuse them too, which must not look like the upstream's failure.
		info.Outcome = OutcomeClientError
		writeStatus(w, http.StatusBadRequest)
		return
	}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		// A body may come (HTTP/2 gives even a bodiless GET a Body, with length 0;
		// ReverseProxy forwards none then, and such a request stays safe to retry).
		ctx, cancel := context.WithCancel(r.Context())
		body := newTrackedBody(r.Body, h.cfg.Timeouts.Body, w, cancel)
		info.body = body
		r = r.WithContext(ctx)
		r.Body = body
		defer func() { body.stop(); cancel() }()
	}
	defer h.finish(info, r)
	if h.direct(r) {
		h.forward(w, r, info)
		return
	}
	h.reverseProxy().ServeHTTP(w, r)
}

// finish releases the in-flight count and, when ReverseProxy aborts the response
// (http.ErrAbortHandler), records whose fault it was and re-panics.
func (h *Handler) finish(info *Info, r *http.Request) {
	if info.active != nil {
		info.active.inflight.Add(-1)
		info.active = nil
	}
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler && info.Outcome == "" {
		ub := &info.resBody
		switch {
		case info.body != nil && info.body.timedOut.Load():
			info.Outcome = OutcomeBodyTimeout
		case r.Context().Err() != nil || ub.ReadCloser == nil || !ub.failed:
			info.Outcome = OutcomeClientClosed
		default:
			info.Outcome = OutcomeUpstreamAborted
			if f := h.m.opts.OnUpstreamError; f != nil && info.Upstream != nil {
				f(info.Upstream, errUpstreamAborted)
			}
			h.m.log.LogAttrs(r.Context(), slog.LevelWarn, "proxy: upstream response aborted mid-body",
				slog.String("route", h.cfg.label()), slog.String("host", r.Host), slog.String("upstream", info.Upstream.Redacted()))
		}
	}
	panic(v)
}

// validMethod reports whether m is an HTTP token, as net/http's client requires.
func validMethod(m string) bool {
	return m != "" && strings.IndexFunc(m, func(c rune) bool { return !httpguts.IsTokenRune(c) }) < 0
}

func (h *Handler) rewrite(pr *httputil.ProxyRequest) {
	h.setForwarded(pr)
	// pr.Out.Host is left as the incoming Host: the upstream sees the name the client used.
	cleanURLPath(pr.Out.URL)
	if h.cfg.StripPrefix {
		stripPrefix(pr.Out.URL, h.cfg.Path)
	}
}

// pick chooses an untried target: the next available one (round robin) or the available
// one with the fewest requests in flight (least conn); pickWeighted when the weights
// differ. When all untried ones are passively
// ejected it fails open to the one whose ejection ends first. -1 means none is up.
func (h *Handler) pick(tried uint64) int {
	if h.weighted {
		return h.pickWeighted(tried)
	}
	n := len(h.targets)
	if n == 1 {
		if tried&1 != 0 || h.targets[0].up.down.Load() {
			return -1
		}
		return 0
	}
	start := int(h.rr.Add(1) % uint64(n))
	var now int64
	best, fallback := -1, -1
	var bestLoad, fallbackUntil int64
	for i := 0; i < n; i++ {
		j := start + i
		if j >= n {
			j -= n
		}
		if j < 64 && tried&(1<<j) != 0 {
			continue
		}
		up := h.targets[j].up
		ok, until := up.available(&now)
		if !ok {
			if until != 0 && (fallback < 0 || until < fallbackUntil) {
				fallback, fallbackUntil = j, until
			}
			continue
		}
		if h.cfg.Balance != site.LeastConn {
			return j
		}
		if load := up.inflight.Load(); best < 0 || load < bestLoad {
			best, bestLoad = j, load
		}
	}
	if best >= 0 {
		return best
	}
	return fallback
}
