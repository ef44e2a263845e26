package proxy

import (
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"sync/atomic"
)

// Handler proxies the requests of one route. Get it from Manager.Handler; it is safe for
// concurrent use and never changes after it is returned.
type Handler struct {
	m       *Manager
	cfg     Config // defaults applied
	targets []target
	rp      *httputil.ReverseProxy
	rr      atomic.Uint64
	gen     uint64 // guarded by m.mu

	retryAfter string // Retry-After of 503s: the health-check interval in seconds
}

type target struct {
	up  *upstream
	url *url.URL // as configured: base path and query are joined to the request's
}

func newHandler(m *Manager, c Config) *Handler {
	h := &Handler{m: m, cfg: c, retryAfter: "1"}
	if c.HealthCheck != nil {
		h.retryAfter = strconv.Itoa(max(1, int(c.HealthCheck.Interval.Seconds())))
	}
	h.rp = &httputil.ReverseProxy{
		Rewrite:   h.rewrite,
		Transport: (*roundTripper)(h),
		// Zero: httputil flushes at once anyway for text/event-stream and for responses of
		// unknown length (streams); others are written in one go, which lets HTTP/2 batch
		// frames (the bench measured h2 +50% against flushing every response).
		FlushInterval: 0,
		BufferPool:    copyBuffers,
		ErrorHandler:  h.serveError,
		ErrorLog:      slogErrorLog(m.log),
	}
	return h
}

// ServeHTTP proxies r to one of the route's upstreams.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := InfoFrom(r.Context())
	if info == nil {
		info = new(Info)
		r = r.WithContext(WithInfo(r.Context(), info))
	}
	h.rp.ServeHTTP(w, r)
	// ServeHTTP returns after the body (or the upgraded connection) is done.
	if info.active != nil {
		info.active.inflight.Add(-1)
		info.active = nil
	}
}

func (h *Handler) rewrite(pr *httputil.ProxyRequest) {
	if len(h.m.opts.TrustedProxies) > 0 && trusted(pr.In.RemoteAddr, h.m.opts.TrustedProxies) {
		pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
	}
	pr.SetXForwarded()
	// pr.Out.Host is left as the incoming Host: the upstream sees the name the client used.
	if h.cfg.StripPrefix {
		stripPrefix(pr.Out.URL, h.cfg.Path)
	}
}

func trusted(remoteAddr string, nets []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// pick chooses an untried target: the next available one (round robin) or the available
// one with the fewest requests in flight (least conn). When all untried ones are passively
// ejected it fails open to the one whose ejection ends first. -1 means none is up.
func (h *Handler) pick(tried uint64) int {
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
		if h.cfg.Balance != LeastConn {
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
