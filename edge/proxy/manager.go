package proxy

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"log"
	"log/slog"
	"net/netip"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// ErrClosed is returned by Manager.Handler after Manager.Close.
var ErrClosed = errors.New("proxy: manager closed")

// Options configure a Manager. The zero value is usable.
type Options struct {
	// Logger receives upstream failures, with addresses and errors the clients never
	// see. Nil means slog.Default().
	Logger *slog.Logger
	// OnUpstreamError, if not nil, is called for every failed attempt to reach an upstream
	// (not for client cancellations) with the upstream's configured URL and the error,
	// e.g. to count errors per upstream. It runs on the request path: keep it fast. It
	// must be safe for concurrent use.
	OnUpstreamError func(upstream *url.URL, err error)
	// UpstreamTLS is the client TLS configuration for https upstreams (e.g. RootCAs for a
	// private CA). It is cloned; ServerName defaults to the upstream URL's host and
	// NextProtos is forced to HTTP/1.1. Nil means the system roots.
	UpstreamTLS *tls.Config
	// TrustedProxies are peers (e.g. a load balancer in front of edge) whose
	// X-Forwarded-For is kept and appended to. Empty means no peer is trusted: a client's
	// X-Forwarded-For is replaced by its address.
	TrustedProxies []netip.Prefix
	// MaxIdleConnsPerUpstream bounds the idle keep-alive connections kept per upstream.
	// Zero means 512: HTTP/2 clients multiplex many requests onto few connections, and
	// each request in flight needs its own HTTP/1.1 upstream connection; a smaller pool
	// closes and reopens connections under load.
	MaxIdleConnsPerUpstream int
	// EjectBackoff is the first passive ejection; it doubles per consecutive failure up
	// to MaxEjectBackoff. Zero means 1s and 30s.
	EjectBackoff, MaxEjectBackoff time.Duration
}

func (o *Options) maxIdle() int {
	if o.MaxIdleConnsPerUpstream > 0 {
		return o.MaxIdleConnsPerUpstream
	}
	return 512
}

func (o *Options) ejectBase() time.Duration {
	if o.EjectBackoff > 0 {
		return o.EjectBackoff
	}
	return time.Second
}

func (o *Options) ejectMax() time.Duration {
	if o.MaxEjectBackoff > 0 {
		return max(o.MaxEjectBackoff, o.ejectBase())
	}
	return max(30*time.Second, o.ejectBase())
}

// Manager owns the upstream state that outlives snapshots. Create one per server with
// NewManager; it is safe for concurrent use. The zero value is not usable.
type Manager struct {
	opts   Options
	log    *slog.Logger
	errLog *log.Logger // log as ReverseProxy.ErrorLog wants it, shared by every handler

	mu        sync.Mutex
	gen       uint64
	closed    bool
	handlers  map[handlerKey]*Handler
	upstreams map[string]*upstream

	wg       sync.WaitGroup // health-check goroutines
	checkers atomic.Int64   // running health-check goroutines
}

// NewManager returns a Manager with no upstreams.
func NewManager(o Options) *Manager {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Manager{
		opts:      o,
		log:       log,
		errLog:    slogErrorLog(log),
		handlers:  make(map[handlerKey]*Handler),
		upstreams: make(map[string]*upstream),
	}
}

// Handler returns the handler of the route r, labelled name in log lines (e.g. "shop
// /api"; may be empty). An identical route with the same name gets the same *Handler (and
// so its keep-alive pools, balancing position and health state); upstreams with the same
// address and settings are shared between handlers. r is not kept: its defaults are
// applied to a copy (its upstream URLs are shared, never changed). The error, if any,
// names the route and is about r (unknown balance, bad upstream URL) or ErrClosed.
func (m *Manager) Handler(name string, r *site.Route) (*Handler, error) {
	c, err := newConfig(name, r)
	if err != nil {
		return nil, err
	}
	key := handlerKey(sha256.Sum256([]byte(c.key())))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if h, ok := m.handlers[key]; ok {
		h.gen = m.gen
		return h, nil
	}
	h := newHandler(m, c)
	for i, u := range c.Upstreams {
		uk := upstreamKey(u, &c)
		up, ok := m.upstreams[uk]
		if !ok {
			up = newUpstream(u, &c, &m.opts)
			m.upstreams[uk] = up
			m.startCheck(up)
		}
		up.gen = m.gen
		h.targets = append(h.targets, target{up: up, url: u, weight: c.Weight(i)})
	}
	h.initSticky()
	h.gen = m.gen
	m.handlers[key] = h
	return h, nil
}

// Sweep releases every handler that is neither in keep nor returned by Handler since the
// previous Sweep, and every upstream no remaining handler uses: their health checks stop
// and their idle connections are closed. Call it after publishing a snapshot, with that
// snapshot's handlers. It returns the number of upstreams released.
func (m *Manager) Sweep(keep []*Handler) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.gen
	for _, h := range keep {
		if h != nil && h.m == m {
			h.gen = cur
		}
	}
	for k, h := range m.handlers {
		if h.gen != cur {
			delete(m.handlers, k)
			continue
		}
		for i := range h.targets { // by index: a copy would read the fields pick writes
			h.targets[i].up.gen = cur
		}
	}
	released := 0
	for k, up := range m.upstreams {
		if up.gen != cur {
			delete(m.upstreams, k)
			up.release()
			released++
		}
	}
	m.gen++
	return released
}

// Close stops every health check, closes idle upstream connections and waits for the
// health-check goroutines to return. Handlers keep serving requests already started.
func (m *Manager) Close() error {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		for k, up := range m.upstreams {
			delete(m.upstreams, k)
			up.release()
		}
		clear(m.handlers)
	}
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// UpstreamStatus is the health of one upstream, for admin endpoints. It holds internal
// addresses: never show it to the public.
type UpstreamStatus struct {
	// URL is the upstream's scheme and host.
	URL string
	// Down is true while active health checks fail.
	Down bool
	// EjectedUntil is the end of the current passive ejection; zero when not ejected.
	EjectedUntil time.Time
	// Failures counts consecutive transport failures.
	Failures int
	// InFlight is the number of requests being proxied to it.
	InFlight int64
	// HealthChecked is true when active health checks run.
	HealthChecked bool
	// Weight is the upstream's weight in the route (Handler.Upstreams of a route with
	// Weights); zero otherwise.
	Weight int
}

// Upstreams returns the status of every upstream, sorted by URL.
func (m *Manager) Upstreams() []UpstreamStatus {
	m.mu.Lock()
	out := make([]UpstreamStatus, 0, len(m.upstreams))
	for _, up := range m.upstreams {
		out = append(out, up.status())
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}

// status is the upstream's health now.
func (up *upstream) status() UpstreamStatus {
	s := UpstreamStatus{
		URL:           up.base.String(),
		Down:          up.down.Load(),
		Failures:      int(up.fails.Load()),
		InFlight:      up.inflight.Load(),
		HealthChecked: up.check != nil,
	}
	if e := up.ejectedUntil.Load(); e != 0 && time.Now().UnixNano() < e {
		s.EjectedUntil = time.Unix(0, e)
	}
	return s
}

// Upstreams returns the status of the route's upstreams, in the route's order. It takes no
// lock: cheap enough to call for every route of a snapshot.
func (h *Handler) Upstreams() []UpstreamStatus {
	out := make([]UpstreamStatus, len(h.targets))
	for i := range h.targets {
		t := &h.targets[i]
		out[i] = t.up.status()
		if h.cfg.Weights != nil {
			out[i].Weight = t.weight
		}
	}
	return out
}
