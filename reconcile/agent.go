package reconcile

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/edge/pace"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
	"github.com/prometheus/client_golang/prometheus"
)

// Source yields revisions of the config repo (gitsource.Source is the real one).
type Source interface {
	// Poll checks the remote and returns its newest revision, and whether it differs from
	// the revision the previous successful Poll returned (true on the first call). An
	// error wrapping a *gitsource.CommitError means the repo was reached and its commit
	// refused: a rejected revision, not an unreachable repo.
	Poll(ctx context.Context) (rev *gitsource.Revision, changed bool, err error)
}

// Loader validates the files of a revision (schema.Loader is the real one).
type Loader interface {
	// LoadContext validates fsys; when ctx is done it stops and returns an error.
	LoadContext(ctx context.Context, fsys fs.FS) (*schema.Config, error)
}

// Publisher builds a snapshot from compiled sites and swaps it into the data plane. It
// returns an error, and changes nothing, if the sites do not form a consistent snapshot.
// commit is the config repo commit the sites come from.
type Publisher interface {
	Publish(generation uint64, commit string, sites []*edge.Site) error
}

// StateStore keeps the revision an agent serves across restarts (gitsource.Source with a
// StateDir is the real one).
type StateStore interface {
	// RestoreAccepted returns the revision saved by an earlier run, now the Source's
	// current revision; nil, nil when there is none. On error nothing changed.
	RestoreAccepted(ctx context.Context) (*gitsource.Revision, error)
	// SaveAccepted keeps rev, which the agent now serves (the revision Poll last
	// returned), for the next start. Saving the revision already saved does nothing.
	SaveAccepted(rev *gitsource.Revision) error
}

// AgentOptions configure an Agent. Source, Loader, Keys and Publisher are required.
type AgentOptions struct {
	Source    Source
	Loader    Loader
	Keys      keysource.Source
	Publisher Publisher
	// State, when set, keeps the accepted revision across restarts: at start the agent
	// serves the revision it holds before the first poll, and keeps serving it while the
	// repo is unreachable or its newest commit is rejected. Nil means none: a restart
	// serves nothing until the repo gives a valid revision.
	State StateStore
	// Interval between polls. Zero means 30s.
	Interval time.Duration
	// Jitter adds up to this much random delay to each poll. Zero means Interval/10.
	Jitter time.Duration
	// KeyRefresh is how often an unpinned key ("latest") is read again; reads are spread
	// over [KeyRefresh/2, 3*KeyRefresh/2) in 64 batches (one step a minute at 1h, not one
	// per key). Zero means 1h; negative means never.
	KeyRefresh time.Duration
	// KeyConcurrency bounds parallel reads from Keys. Zero means 8.
	KeyConcurrency int
	// Users reads the basic-auth users secrets the routes name (keysource.Vault). Nil
	// means none can be read: a site with basic_auth then fails.
	Users keysource.UsersSource
	// UsersRefresh is how often a users secret is read again, so that a password changed
	// in Vault takes effect without a commit; reads are spread like KeyRefresh's. Zero
	// means Interval; negative means never.
	UsersRefresh time.Duration
	// Logger receives one line per reconcile. Nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the agent's metrics. Nil means none are registered.
	Registerer prometheus.Registerer
	// Issued gives the certificates of sites with tls: {issuer}; nil: such sites fail.
	Issued IssuedCerts
	// Content fetches the content repositories static routes are pinned to. Nil means
	// none: a site with such a route fails to compile (the others are served).
	Content ContentSource
}

// Agent turns revisions of the config repo into served snapshots. It never publishes an
// invalid revision (the previous snapshot keeps serving) and isolates per-site failures:
// a site whose key cannot be had keeps its last good version and the others move on.
type Agent struct {
	opts    AgentOptions
	log     *slog.Logger
	metrics *agentMetrics
	trigger chan struct{}

	// Reconcile state, used by one Step at a time (stepMu).
	stepMu     sync.Mutex
	keys       *keysource.Cache
	users      *keysource.Cache // basic-auth users secrets; nil without AgentOptions.Users
	compiled   map[string]*compiledSite
	spare      map[string]*compiledSite // the map compiled was before, empty, for the next plan
	generation uint64
	cfg        *schema.Config  // last accepted config
	cfgRefs    []schema.KeyRef // the key references of cfg's sites
	restored   bool            // the state store was read (restoreState ran)
	stepCounts *planCounts     // the counts of the plan this step published, for record
	phases     stepPhases      // how long the parts of this step took, for the log
	issuedGen  uint64          // the Issued generation the last compile saw
	loadedOnce bool            // a load was made (the first one reads keys as it goes: load.go)

	releaseDue bool // a big reconcile ran: memory is returned at the step's end (memrelease.go)

	// status is the published Status: written only by the Step holding stepMu, as a new
	// value each time, never changed once stored; read by anyone without a lock.
	status atomic.Pointer[Status]
	// publishing, while publish runs, holds a channel closed once the new status is stored.
	publishing atomic.Pointer[chan struct{}]
}

// compiledSite is a site as last compiled and the inputs it was compiled from.
type compiledSite struct {
	decl       *schema.Site
	keySum     [32]byte
	keyVersion int
	usersSum   [32]byte // digest of the site's basic-auth users
	site       *edge.Site
	last       lastPlan // what the last compile that kept it planned for it
}

// lastPlan is a site's SiteStatus as a compile planned it, and the inputs that status came
// from (see Agent.reusePlan).
type lastPlan struct {
	status SiteStatus
	decl   *schema.Site // the declaration planned
	keys   uint64       // the key cache's Version then
	users  uint64       // the users cache's Version then (0 without one)
}

// NewAgent returns an agent; call Run to start polling, or Step to poll once.
func NewAgent(opts AgentOptions) (*Agent, error) {
	if opts.Source == nil || opts.Loader == nil || opts.Keys == nil || opts.Publisher == nil {
		return nil, errors.New("reconcile: agent needs a source, loader, key source and publisher")
	}
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.Jitter == 0 {
		opts.Jitter = opts.Interval / 10
	}
	switch {
	case opts.KeyRefresh == 0:
		opts.KeyRefresh = time.Hour
	case opts.KeyRefresh < 0:
		opts.KeyRefresh = 0
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &Agent{
		opts:     opts,
		log:      opts.Logger,
		metrics:  newAgentMetrics(opts.Registerer, opts.Interval),
		trigger:  make(chan struct{}, 1),
		keys:     keysource.NewCache(opts.Keys, opts.KeyRefresh, opts.KeyConcurrency),
		compiled: map[string]*compiledSite{},
	}
	a.users = newUsersCache(opts)
	a.status.Store(&Status{Sites: []SiteStatus{}, History: []ReconcileRecord{}})
	return a, nil
}

// Trigger asks Run to poll now (webhook, SIGHUP). It never blocks.
func (a *Agent) Trigger() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// Status returns the current status: an immutable value, replaced as a whole after each
// change, read without a lock. Only while a new snapshot is being published does it wait,
// for that snapshot's status, so that it never describes the previous snapshot once the new
// one serves. The copy returned is the caller's (its Sites and History slices are fresh
// ones).
func (a *Agent) Status() Status {
	s := *a.statusView()
	s.Sites = append([]SiteStatus(nil), s.Sites...)
	s.History = append([]ReconcileRecord{}, s.History...)
	return s
}

// statusView returns the current status as Status does, but shared: the caller must not
// change it or its slices. A reader that only encodes it (StatusHandler) skips the copy
// of every site's status, megabytes at 10,000 sites on every poll of /status.
func (a *Agent) statusView() *Status {
	if done := a.publishing.Load(); done != nil {
		<-*done
	}
	return a.status.Load()
}

// updateStatus publishes a copy of the status changed by f. Only the Step holding stepMu
// calls it, so updates never race; readers see the old value or the new one, whole.
func (a *Agent) updateStatus(f func(*Status)) {
	s := *a.status.Load()
	f(&s)
	a.status.Store(&s)
}

// Run polls until ctx is done: every Interval plus jitter, at once on Trigger, sooner when a
// key is due for a read, and with backoff while the repo is unreachable.
func (a *Agent) Run(ctx context.Context) error {
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-a.trigger:
		}
		delay := a.opts.Interval
		if a.opts.Jitter > 0 {
			delay += rand.N(a.opts.Jitter)
		}
		if err := a.Step(ctx); err != nil {
			failures++
			delay = min(keysource.Backoff(failures), max(a.opts.Interval, time.Minute))
		} else {
			failures = 0
		}
		a.stepMu.Lock()
		if due := earliest(a.keys.NextDue(), a.usersNextDue()); !due.IsZero() {
			delay = max(min(delay, time.Until(due)), 0)
		}
		a.stepMu.Unlock()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(delay)
	}
}

// refsOf lists the key references of cfg's sites; a passthrough site and an issued one
// have none. It returns prev (never changed: shared) when that is the same list, as after
// most commits: at 10,000 sites a new list is 0.5 MB of garbage per swap.
func refsOf(cfg *schema.Config, prev []schema.KeyRef) []schema.KeyRef {
	if prev != nil && sameRefs(cfg, prev) {
		return prev
	}
	refs := make([]schema.KeyRef, 0, len(cfg.Sites))
	for _, s := range cfg.Sites {
		if s.Passthrough == nil && s.Issuer == "" {
			refs = append(refs, s.Key)
		}
	}
	return refs
}

// sameRefs reports whether refs is what refsOf lists for cfg.
func sameRefs(cfg *schema.Config, refs []schema.KeyRef) bool {
	i := 0
	var tick pace.Ticker
	for _, s := range cfg.Sites {
		tick.Tick()
		if s.Passthrough == nil && s.Issuer == "" {
			if i == len(refs) || refs[i] != s.Key {
				return false
			}
			i++
		}
	}
	return i == len(refs)
}
