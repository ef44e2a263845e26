package reconcile

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgectl/edge/reconcile/keysource"
)

// TicketStore keeps the fleet's session ticket keys: keysource.Vault.
type TicketStore interface {
	// TicketKeysVersion is the cheap read: the current version and when it was written, 0
	// when there are no keys yet.
	TicketKeysVersion(ctx context.Context, path string) (int, time.Time, error)
	// TicketKeys reads the keys; keysource.ErrNoTicketKeys when there are none usable,
	// with the Version of the unusable one (0: none).
	TicketKeys(ctx context.Context, path string) (keysource.TicketKeys, error)
	// PutTicketKeys writes the version after cas with check-and-set;
	// keysource.ErrTicketKeysChanged when another writer was first.
	PutTicketKeys(ctx context.Context, path string, k keysource.TicketKeys, cas int) (keysource.TicketKeys, error)
}

// TicketSyncOptions configures a TicketSync.
type TicketSyncOptions struct {
	Store TicketStore
	// Path is the KV v2 secret, "<mount>/<path>" (keysource.DefaultTicketKeysPath).
	Path string
	// Rotation is how long a version is current before an agent rotates: at least 1s, less
	// than a day.
	Rotation time.Duration
	// Install puts keys (the first encrypts, all decrypt) into the TLS listeners:
	// edge.Server.SetSessionTicketKeys.
	Install func([][32]byte) error
	// Logger gets one line per installed version and per failure, never a key. Nil:
	// slog.Default().
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// TicketSync shares TLS session ticket keys across the fleet through Vault so a client
// resumes its session on any agent. Every agent runs one:
//
//   - at start it reads the keys (writing version 1 if there are none) and installs them;
//   - when the current version is Rotation old (plus a per-agent jitter of up to a
//     twentieth of it) it reads the secret's metadata, nothing else: if another agent has
//     written a newer version it reads and installs that; otherwise it rotates: it writes
//     the next version with check-and-set on the one it has (previous ← current ← next ←
//     a new random key), and whoever writes version N+1 first wins, the others read it.
//
// So an agent makes one metadata read per Rotation and one read or write of the keys; the
// config repo's polls cost no Vault read. While Vault cannot be reached the keys installed
// keep serving (no local rotation, which would split the fleet) and it retries with backoff.
type TicketSync struct {
	opts    TicketSyncOptions
	log     *slog.Logger
	jitter  time.Duration
	have    keysource.TicketKeys // installed; Version 0: none yet
	metrics *ticketMetrics
}

// NewTicketSync checks opts and returns the sync; Run runs it.
func NewTicketSync(opts TicketSyncOptions) (*TicketSync, error) {
	if opts.Store == nil || opts.Install == nil || opts.Path == "" {
		return nil, errors.New("session ticket keys: store, path and install are needed")
	}
	if opts.Rotation < time.Second || opts.Rotation >= 24*time.Hour {
		return nil, fmt.Errorf("session ticket key rotation %v: want at least 1s and less than 24h", opts.Rotation)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &TicketSync{opts: opts, log: log.With("path", opts.Path),
		jitter:  mrand.N(opts.Rotation/20 + 1),
		metrics: newTicketMetrics(opts.Registerer, opts.Rotation)}, nil
}

// Run keeps the installed keys in step with Vault until ctx is done.
func (s *TicketSync) Run(ctx context.Context) {
	backoff := time.Duration(0)
	for {
		wait, err := s.step(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.metrics.errors.Inc()
			backoff = min(max(2*backoff, time.Second), max(s.opts.Rotation/2, time.Second), time.Minute)
			s.log.Warn("session ticket keys: vault; the installed keys keep serving", "err", err, "retry_in", backoff)
			wait = backoff
		} else {
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// step does what is due and returns how long to wait for the next step.
func (s *TicketSync) step(ctx context.Context) (time.Duration, error) {
	if s.have.Version == 0 {
		return s.load(ctx)
	}
	due := s.have.Created.Add(s.opts.Rotation + s.jitter)
	if d := time.Until(due); d > 0 {
		return d, nil
	}
	s.metrics.reads.WithLabelValues("metadata").Inc()
	ver, _, err := s.opts.Store.TicketKeysVersion(ctx, s.opts.Path)
	if err != nil {
		return 0, err
	}
	if ver != s.have.Version { // another agent rotated (or Vault lost them: version 0)
		return s.load(ctx)
	}
	return s.rotate(ctx, s.have.Version, s.have)
}

// load reads the keys and installs them, writing the first version if there are none.
func (s *TicketSync) load(ctx context.Context) (time.Duration, error) {
	s.metrics.reads.WithLabelValues("keys").Inc()
	k, err := s.opts.Store.TicketKeys(ctx, s.opts.Path)
	if errors.Is(err, keysource.ErrNoTicketKeys) {
		// k.Version is the unusable version seen (0: none), so the write below is
		// refused if anyone wrote since that read.
		ver := k.Version
		s.log.Info("session ticket keys: none usable in vault, writing them", "version", ver+1)
		from := keysource.TicketKeys{Current: newTicketKey(), Next: newTicketKey()}
		if s.have.Version != 0 { // Vault lost them: go on from ours, tickets out there keep resuming
			from = keysource.TicketKeys{Current: s.have.Previous, Next: s.have.Current}
		}
		return s.rotate(ctx, ver, from)
	}
	if err != nil {
		return 0, err
	}
	return s.install(k)
}

// rotate writes the version after cas (previous ← from.Current ← from.Next ← new) and
// installs it; if another agent was first, it loads theirs.
func (s *TicketSync) rotate(ctx context.Context, cas int, from keysource.TicketKeys) (time.Duration, error) {
	next := keysource.TicketKeys{Previous: from.Current, Current: from.Next, Next: newTicketKey()}
	written, err := s.opts.Store.PutTicketKeys(ctx, s.opts.Path, next, cas)
	if errors.Is(err, keysource.ErrTicketKeysChanged) {
		s.log.Info("session ticket keys: another agent rotated first", "version", cas+1)
		return s.load(ctx)
	}
	if err != nil {
		return 0, err
	}
	s.metrics.rotations.Inc()
	s.log.Info("session ticket keys: rotated", "version", written.Version)
	return s.install(written)
}

// install puts k into the listeners: current encrypts; current, next and previous decrypt.
func (s *TicketSync) install(k keysource.TicketKeys) (time.Duration, error) {
	if err := s.opts.Install([][32]byte{k.Current, k.Next, k.Previous}); err != nil {
		return 0, fmt.Errorf("install session ticket keys: %w", err)
	}
	if k.Version != s.have.Version {
		s.log.Info("session ticket keys: installed", "version", k.Version, "created", k.Created.UTC().Format(time.RFC3339))
	}
	s.have = k
	s.metrics.version.Set(float64(k.Version))
	// At least a tenth of the rotation: an agent whose clock runs ahead of Vault's by more
	// than a rotation rotates that often, not in a loop.
	return max(time.Until(k.Created.Add(s.opts.Rotation+s.jitter)), s.opts.Rotation/10), nil
}

// newTicketKey is a random 32-byte key.
func newTicketKey() (k [32]byte) {
	rand.Read(k[:]) // never fails (crypto/rand panics rather than return an error)
	return k
}

// ticketMetrics are TicketSync's collectors.
type ticketMetrics struct {
	version   prometheus.Gauge
	rotations prometheus.Counter
	errors    prometheus.Counter
	reads     *prometheus.CounterVec
}

func newTicketMetrics(reg prometheus.Registerer, rotation time.Duration) *ticketMetrics {
	m := &ticketMetrics{
		version: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edge_session_ticket_keys_version",
			Help: "Vault KV v2 version of the fleet's session ticket keys installed; 0: none yet (local keys)."}),
		rotations: prometheus.NewCounter(prometheus.CounterOpts{Name: "edge_session_ticket_keys_rotations_total",
			Help: "Versions of the fleet's session ticket keys this agent wrote (it won the check-and-set)."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "edge_session_ticket_keys_errors_total",
			Help: "Failed reads or writes of the session ticket keys in Vault (the installed keys keep serving)."}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edge_session_ticket_keys_vault_reads_total",
			Help: "Vault reads for the session ticket keys by kind: metadata (one per rotation interval) or keys (when the version changed)."},
			[]string{"kind"}),
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "edge_session_ticket_keys_rotation_seconds",
		Help: "Configured rotation interval of the fleet's session ticket keys."})
	g.Set(rotation.Seconds())
	if reg != nil {
		reg.MustRegister(m.version, m.rotations, m.errors, m.reads, g)
	}
	return m
}
