package issue

import (
	"context"
	"crypto/tls"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Want is a site asking for an issued certificate.
type Want struct {
	Site   string
	Names  []string
	Issuer string // the declared issuer's name
}

// State is where a site's issued certificate is.
type State string

// States reported per site.
const (
	// StateIssuing: no certificate yet; an order is under way (here or on another agent).
	StateIssuing State = "issuing"
	// StateIssued: a valid certificate is served; renewal is scheduled.
	StateIssued State = "issued"
	// StateRenewing: a certificate is served and its renewal is under way or being
	// retried (Reason says why the last attempt failed).
	StateRenewing State = "renewing"
	// StateFailed: no certificate, and the last attempt failed; NextAttempt says when the
	// next one is. The site is not served.
	StateFailed State = "failed"
)

// SiteStatus is the issuance state of one site, for /status.
type SiteStatus struct {
	State       State     `json:"state"`
	Issuer      string    `json:"issuer"`
	Reason      string    `json:"reason,omitempty"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	RenewAt     time.Time `json:"renewAt,omitzero"`
	NotAfter    time.Time `json:"notAfter,omitzero"`
	// Version is the KV v2 version of the certificate served.
	Version int `json:"version,omitempty"`
}

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	// Store is where certificates and locks live. Required.
	Store *Store
	// Challenges, when set, is told the names of the sites looked after (the only names
	// it answers challenges for).
	Challenges *Challenges
	// Build makes the Issuer of a declared issuer. Required.
	Build func(Config) (Issuer, error)
	// OnChange is called (without locks held) when a site's certificate or state changed:
	// the agent recompiles.
	OnChange func()
	// Wait is how often an agent looks again while another agent orders a certificate it
	// has none of (default 5s). Certificates it has are looked at only when due.
	Wait time.Duration
	// RetryBase is the first wait after a failed order, doubling up to 6h (default 1m).
	RetryBase time.Duration
	// NoOrder makes this agent never order: it serves the certificates others store and
	// answers challenges, waiting (Wait) for a certificate it lacks or that is due.
	NoOrder bool
	// Logger; nil: slog.Default().
	Logger *slog.Logger
	// Registerer receives the metrics; nil: none.
	Registerer prometheus.Registerer
}

// Manager obtains, stores and renews the certificates of the sites that ask for one,
// once per fleet: every agent runs one; for each site, the agent that takes the site's lock
// in Vault orders, writes the result to Vault, and every agent serves it from there. It
// reads Vault for a site only at start, when its renewal is due, and while it waits for
// another agent's order: never on an idle poll.
type Manager struct {
	opts    ManagerOptions
	log     *slog.Logger
	metrics *metrics
	gen     atomic.Uint64

	mu      sync.Mutex
	cfgs    map[string]Config
	issuers map[string]Issuer
	ierrs   map[string]error
	sites   map[string]*worker
	closed  bool
}

// NewManager returns a Manager; Set gives it the sites.
func NewManager(opts ManagerOptions) *Manager {
	if opts.Wait <= 0 {
		opts.Wait = 5 * time.Second
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.OnChange == nil {
		opts.OnChange = func() {}
	}
	return &Manager{opts: opts, log: opts.Logger, metrics: newMetrics(opts.Registerer, opts.Store),
		cfgs: map[string]Config{}, issuers: map[string]Issuer{}, ierrs: map[string]error{}, sites: map[string]*worker{}}
}

// Set makes the manager look after exactly wants, with the issuers cfgs. Sites new to it
// have their stored certificate read first (so an agent starting with certificates in
// Vault serves them at once); then each site's renewal runs in the background.
func (m *Manager) Set(ctx context.Context, cfgs map[string]Config, wants []Want) {
	m.setIssuers(cfgs)
	m.mu.Lock()
	keep := map[string]bool{}
	var fresh []*worker
	for _, w := range wants {
		keep[w.Site] = true
		if old := m.sites[w.Site]; old != nil && old.want.Issuer == w.Issuer && slices.Equal(old.want.Names, w.Names) && !old.issuerChanged {
			continue
		}
		if old := m.sites[w.Site]; old != nil {
			old.stop()
		}
		nw := newWorker(w)
		m.sites[w.Site] = nw
		fresh = append(fresh, nw)
	}
	for name, w := range m.sites {
		if !keep[name] {
			w.stop()
			delete(m.sites, name)
		}
	}
	m.mu.Unlock()
	if m.opts.Challenges != nil {
		m.opts.Challenges.SetNames(m.Names())
	}
	m.load(ctx, fresh)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range fresh {
		if !m.closed && m.sites[w.want.Site] == w {
			go m.run(w)
		}
	}
}

// setIssuers rebuilds the issuers whose declaration changed; sites of a changed issuer
// start over.
func (m *Manager) setIssuers(cfgs map[string]Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, c := range cfgs {
		if old, ok := m.cfgs[name]; ok && reflect.DeepEqual(old, c) {
			continue
		}
		iss, err := m.opts.Build(c)
		m.issuers[name], m.ierrs[name] = iss, err
		for _, w := range m.sites {
			if w.want.Issuer == name {
				w.issuerChanged = true
			}
		}
	}
	for name := range m.cfgs {
		if _, ok := cfgs[name]; !ok {
			delete(m.issuers, name)
			delete(m.ierrs, name)
		}
	}
	m.cfgs = maps.Clone(cfgs)
}

// load reads the stored certificates of new sites, 16 at a time.
func (m *Manager) load(ctx context.Context, ws []*worker) {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if rec, err := m.opts.Store.ReadIssued(ctx, w.want.Site); err == nil {
				m.adopt(w, rec, time.Now())
			}
		}()
	}
	wg.Wait()
}

// Get returns the certificate to serve for site and its Vault version.
func (m *Manager) Get(site string) (*tls.Certificate, int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.sites[site]
	if w == nil || w.cert == nil {
		return nil, 0, false
	}
	return w.cert, w.status.Version, true
}

// Status returns site's issuance status.
func (m *Manager) Status(site string) (SiteStatus, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.sites[site]
	if w == nil {
		return SiteStatus{}, false
	}
	return w.status, true
}

// Generation changes whenever a certificate or a state changes.
func (m *Manager) Generation() uint64 { return m.gen.Load() }

// Names lists every name of every site the manager looks after.
func (m *Manager) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, w := range m.sites {
		out = append(out, w.want.Names...)
	}
	return out
}

// Close stops every site's background work.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, w := range m.sites {
		w.stop()
	}
}
