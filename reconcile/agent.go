package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/schema"
	"github.com/prometheus/client_golang/prometheus"
)

// Source yields revisions of the config repo (GitSource is the real one).
type Source interface {
	// Poll checks the remote and returns its newest revision, and whether it differs from
	// the revision the previous successful Poll returned (true on the first call).
	Poll(ctx context.Context) (rev *Revision, changed bool, err error)
}

// Loader validates the files of a revision (schema.Loader is the real one).
type Loader interface {
	// LoadContext validates fsys; when ctx is done it stops and returns an error.
	LoadContext(ctx context.Context, fsys fs.FS) (*schema.Config, error)
}

// Publisher builds a snapshot from compiled sites and swaps it into the data plane. It
// returns an error, and changes nothing, if the sites do not form a consistent snapshot.
type Publisher interface {
	Publish(generation uint64, revision string, sites []*edge.Site) error
}

// StateStore keeps the revision an agent serves across restarts (GitSource with a
// StateDir is the real one).
type StateStore interface {
	// RestoreAccepted returns the revision saved by an earlier run, now the Source's
	// current revision; nil, nil when there is none. On error nothing changed.
	RestoreAccepted(ctx context.Context) (*Revision, error)
	// SaveAccepted keeps rev, which the agent now serves (the revision Poll last
	// returned), for the next start. Saving the revision already saved does nothing.
	SaveAccepted(rev *Revision) error
}

// AgentOptions configure an Agent. Source, Loader, Keys and Publisher are required.
type AgentOptions struct {
	Source    Source
	Loader    Loader
	Keys      KeySource
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
	// over [KeyRefresh/2, 3*KeyRefresh/2). Zero means 1h; negative means never.
	KeyRefresh time.Duration
	// KeyConcurrency bounds parallel reads from Keys. Zero means 8.
	KeyConcurrency int
	// Logger receives one line per reconcile. Nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the agent's metrics. Nil means none are registered.
	Registerer prometheus.Registerer
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
	keys       *keyCache
	compiled   map[string]*compiledSite
	generation uint64
	cfg        *schema.Config  // last accepted config
	cfgRefs    []schema.KeyRef // the key references of cfg's sites
	restored   bool            // the state store was read (restoreState ran)
	restoring  bool            // publishing the restored revision

	mu     sync.Mutex // guards status
	status Status
}

// compiledSite is a site as last compiled and the inputs it was compiled from.
type compiledSite struct {
	decl       *schema.Site
	keySum     [32]byte
	keyVersion int
	site       *edge.Site
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
	return &Agent{
		opts:     opts,
		log:      opts.Logger,
		metrics:  newAgentMetrics(opts.Registerer),
		trigger:  make(chan struct{}, 1),
		keys:     newKeyCache(opts.Keys, opts.KeyRefresh, opts.KeyConcurrency),
		compiled: map[string]*compiledSite{},
		status:   Status{Sites: []SiteStatus{}},
	}, nil
}

// Trigger asks Run to poll now (webhook, SIGHUP). It never blocks.
func (a *Agent) Trigger() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// Status returns a copy of the current status.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.status
	s.Sites = append([]SiteStatus(nil), a.status.Sites...)
	return s
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
			delay = min(backoff(failures), max(a.opts.Interval, time.Minute))
		} else {
			failures = 0
		}
		a.stepMu.Lock()
		if due := a.keys.nextDue(); !due.IsZero() {
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

// Step polls the source once and, if the revision moved or keys are due, reconciles. It
// returns the poll's error (the repo could not be reached); reconcile outcomes are reported
// in Status.
func (a *Agent) Step(ctx context.Context) error {
	a.stepMu.Lock()
	defer a.stepMu.Unlock()
	if !a.restored {
		a.restored = true
		a.restoreState(ctx)
	}
	start := time.Now()
	rev, changed, err := a.opts.Source.Poll(ctx)
	var refused *CommitError
	if errors.As(err, &refused) {
		// The source reached the commit and refused it (signature policy, no such subdir):
		// a rejected revision, shown as such (commit and reason), not a failure to reach
		// the repo. Polls go on at the usual interval; served keys are still refreshed.
		a.reject(start, &RejectedStatus{Commit: refused.Commit, At: start, Error: err.Error()}, err)
		a.refreshKeys(ctx, start)
		return nil
	}
	if err != nil {
		a.metrics.polls.WithLabelValues("error").Inc()
		a.log.Warn("poll failed; still serving the current snapshot", "err", err)
		a.setPersistedReason("repo unreachable: " + err.Error())
		a.setPoll(PollStatus{At: start, Outcome: "error", Error: err.Error(), Duration: time.Since(start).Seconds()})
		return err
	}
	if !changed && a.cfg != nil && rev.Commit == a.status.Serving.Commit {
		a.clearPersisted() // the repo names the commit restored at start: confirmed
	}
	if rej := a.status.Rejected; !changed && rej != nil && rej.Commit != rev.Commit {
		// The branch is back on a commit other than the rejected one (a refused commit was
		// force-pushed away, say).
		if a.cfg != nil && rev.Commit == a.status.Serving.Commit {
			a.clearRejected() // the commit being served: nothing is rejected any more
		} else {
			changed = true // another commit: the verdict shown is not its own, judge it
		}
	}
	switch {
	case changed || a.cfg == nil && a.status.Rejected == nil:
		a.apply(ctx, start, rev)
	default:
		outcome, refreshed := a.refreshKeys(ctx, start)
		if !refreshed {
			outcome = "unchanged"
		}
		a.finishPoll(start, rev.Commit, outcome)
	}
	return nil
}

// refreshKeys recompiles the served config when, on the same commit, a key is due for its
// slow refresh or a failed read is due for a retry. It returns the outcome and whether it
// did.
func (a *Agent) refreshKeys(ctx context.Context, start time.Time) (string, bool) {
	if a.cfg == nil || !a.keys.due(a.cfgRefs) {
		return "", false
	}
	serving := a.status.Serving // written by this goroutine only
	return a.compileAndPublish(ctx, start, serving.Commit, serving.Signer, a.cfg, a.cfgRefs, false), true
}

// apply validates rev and, if it is valid, compiles and publishes it.
func (a *Agent) apply(ctx context.Context, start time.Time, rev *Revision) {
	cfg, err := a.opts.Loader.LoadContext(ctx, rev.FS)
	if err != nil && ctx.Err() != nil {
		return // stopping: the load was cut short, which says nothing about the commit
	}
	if err != nil {
		rej := &RejectedStatus{Commit: rev.Commit, At: start}
		var ds schema.Diagnostics
		if errors.As(err, &ds) {
			rej.Errors = ds
		} else {
			rej.Error = err.Error()
		}
		a.reject(start, rej, err)
		return
	}
	refs := refsOf(cfg)
	outcome := a.compileAndPublish(ctx, start, rev.Commit, rev.Signer, cfg, refs, true)
	if outcome != "rejected" {
		a.cfg, a.cfgRefs = cfg, refs // (publish cleared any rejection)
		a.saveState(rev)
	}
	a.finishPoll(start, rev.Commit, outcome)
}

// reject records rej as the rejected revision (see setRejected) and ends the poll as
// rejected.
func (a *Agent) reject(start time.Time, rej *RejectedStatus, err error) {
	a.setRejected(rej, err)
	a.finishPoll(start, rej.Commit, "rejected")
}

// setRejected records rej as the rejected revision: the previous snapshot keeps serving. The
// same rejection again (a refused commit polled again) keeps its first time and is not
// logged again.
func (a *Agent) setRejected(rej *RejectedStatus, err error) {
	prev := a.status.Rejected
	again := prev != nil && prev.Commit == rej.Commit && prev.Error == rej.Error && len(prev.Errors) == len(rej.Errors)
	if again {
		rej.At = prev.At
	}
	a.mu.Lock()
	a.status.Rejected = rej
	a.mu.Unlock()
	a.metrics.rejected.Set(1)
	a.setPersistedReason(rejectedReason(rej))
	if !again {
		a.log.Error("revision rejected; still serving the previous snapshot",
			"commit", rej.Commit, "serving", a.status.Serving.Commit, "err", err)
	}
}

// clearRejected forgets the rejected revision, if any.
func (a *Agent) clearRejected() {
	a.mu.Lock()
	a.status.Rejected = nil
	a.mu.Unlock()
	a.metrics.rejected.Set(0)
}

// compileAndPublish compiles every site of cfg (reusing unchanged ones), publishes the
// result and updates the per-site status. It returns "applied", "partial", "unchanged" or
// "rejected" (the compiled sites did not form a consistent snapshot).
func (a *Agent) compileAndPublish(ctx context.Context, start time.Time, commit, signer string, cfg *schema.Config, refs []schema.KeyRef, newCommit bool) string {
	for _, s := range cfg.Sites {
		// A new certificate usually comes with a new key under the same reference (a
		// rotation): read that key again rather than wait for the slow refresh.
		if prev := a.compiled[s.Name]; prev != nil && !bytes.Equal(prev.decl.Cert.PEM, s.Cert.PEM) {
			a.keys.expire(s.Key)
		}
	}
	reads := a.keys.sync(ctx, refs)
	a.metrics.keyReads.Add(float64(reads))

	next := make(map[string]*compiledSite, len(cfg.Sites))
	statuses := make([]SiteStatus, 0, len(cfg.Sites))
	var added, changed, failed int
	stale := map[string]bool{}
	for _, s := range cfg.Sites {
		prev := a.compiled[s.Name]
		st := SiteStatus{Name: s.Name, File: s.File, Hosts: s.Hosts, State: SiteServing}
		cs, err := a.compileOne(s, prev, commit)
		if err != nil {
			failed++
			st.Error = err.Error()
			if prev == nil {
				st.State = SiteFailed
				statuses = append(statuses, st)
				continue
			}
			st.State, cs = SiteStale, prev
			stale[s.Name] = true
		} else if cs != prev {
			if prev == nil {
				added++
			} else {
				changed++
			}
		}
		if e := a.keys.lookup(s.Key); e != nil && e.err != nil && st.Error == "" {
			st.Error = "key refresh failed, serving the key read before: " + e.err.Error()
		}
		next[s.Name] = cs
		st.Revision, st.KeyVersion = cs.site.Revision, cs.keyVersion
		st.NotAfter = cs.site.Certificates[0].Leaf.NotAfter
		statuses = append(statuses, st)
	}
	removed := 0
	for name := range a.compiled {
		if _, ok := next[name]; !ok {
			removed++
		}
	}

	outcome := "applied"
	if failed > 0 {
		outcome = "partial"
	}
	if !newCommit && added == 0 && changed == 0 && removed == 0 {
		outcome = "unchanged"
	} else if err := a.publish(commit, signer, newCommit, cfg, next, stale, statuses); err != nil {
		a.setRejected(&RejectedStatus{Commit: commit, At: start, Error: err.Error()}, err)
		return "rejected"
	}
	a.compiled = next
	if added+changed >= bigReconcile {
		// Compiling thousands of sites (a cold start, a change to edge.cue) leaves the
		// heap far above what stays live; the runtime returns it to the OS only slowly.
		// At 10,000 sites this takes RSS from about 430 to 230 MB right away.
		go debug.FreeOSMemory()
	}
	if outcome == "unchanged" {
		a.setSites(statuses) // else publish did, with the rest of the status
	}
	a.siteMetrics(statuses)
	d := time.Since(start)
	a.metrics.reconcile.Observe(d.Seconds())
	a.log.Info("reconciled", "commit", commit, "outcome", outcome, "duration", d.Round(time.Microsecond),
		"added", added, "changed", changed, "removed", removed, "failed", failed, "key_reads", reads,
		"generation", a.generation)
	return outcome
}

// bigReconcile is the number of sites compiled in one reconcile after which the agent hands
// the memory it used back to the OS.
const bigReconcile = 1000

// compileOne returns prev when neither the declaration nor the key changed, a freshly
// compiled site otherwise, or an error if the key is missing or does not fit.
func (a *Agent) compileOne(s *schema.Site, prev *compiledSite, commit string) (*compiledSite, error) {
	e := a.keys.lookup(s.Key)
	if e == nil || !e.have {
		err := errors.New("key not read yet")
		if e != nil && e.err != nil {
			err = e.err
		}
		return nil, fmt.Errorf("site %s (%s): key %s: %w", s.Name, s.File, keyRefName(s.Key), err)
	}
	if prev != nil && prev.decl.Digest == s.Digest && prev.decl.Key == s.Key && prev.keySum == e.sum {
		return prev, nil
	}
	site, err := CompileSite(s, e.key, commit)
	if err != nil {
		return nil, err
	}
	return &compiledSite{decl: s, keySum: e.sum, keyVersion: e.key.Version, site: site}, nil
}

// publish hands the sites to the publisher. If that fails while some sites are stale (an
// old version kept beside new versions of the others can conflict, e.g. a hostname moved),
// it tries again without the stale sites and marks them failed.
//
// It holds the status lock throughout, and on success updates the serving commit, the
// sites and the rejection in the same critical section: /status never shows the previous
// state once the new snapshot serves. A new commit clears any rejection; a republish of the
// same commit (key refresh) clears only a rejection of that commit.
func (a *Agent) publish(commit, signer string, newCommit bool, cfg *schema.Config, next map[string]*compiledSite, stale map[string]bool, statuses []SiteStatus) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	sites := make([]*edge.Site, 0, len(next))
	for _, s := range cfg.Sites {
		if cs, ok := next[s.Name]; ok {
			sites = append(sites, cs.site)
		}
	}
	err := a.opts.Publisher.Publish(a.generation+1, commit, sites)
	if err != nil && len(stale) > 0 {
		sites = sites[:0]
		for _, s := range cfg.Sites {
			if cs, ok := next[s.Name]; ok && !stale[s.Name] {
				sites = append(sites, cs.site)
			}
		}
		if err = a.opts.Publisher.Publish(a.generation+1, commit, sites); err == nil {
			for name := range stale {
				delete(next, name)
			}
			for i := range statuses {
				if stale[statuses[i].Name] {
					statuses[i].State, statuses[i].Revision = SiteFailed, ""
					statuses[i].NotAfter, statuses[i].KeyVersion = time.Time{}, 0
				}
			}
		}
	}
	if err != nil {
		return err
	}
	a.generation++
	a.metrics.applied.SetToCurrentTime()
	a.metrics.serving.Reset()
	a.metrics.serving.WithLabelValues(commit).Set(1)
	persisted := a.status.Serving.Persisted // a key refresh of the restored commit: still it
	switch {
	case a.restoring:
		persisted = &PersistedStatus{Reason: "restored at start; the repo not polled yet"}
	case newCommit:
		persisted = nil
	}
	a.metrics.persisted.Set(boolGauge(persisted != nil))
	a.status.Serving = ServingStatus{Commit: commit, Signer: signer, Generation: a.generation, Since: time.Now(), Persisted: persisted}
	a.status.Sites = statuses
	if rej := a.status.Rejected; rej != nil && (newCommit || rej.Commit == commit) {
		a.status.Rejected = nil
		a.metrics.rejected.Set(0)
	}
	return nil
}

func (a *Agent) setSites(statuses []SiteStatus) {
	a.mu.Lock()
	a.status.Sites = statuses
	a.mu.Unlock()
}

// siteMetrics sets the per-state site counts and the failing-site series.
func (a *Agent) siteMetrics(statuses []SiteStatus) {
	counts := map[string]int{SiteServing: 0, SiteStale: 0, SiteFailed: 0}
	a.metrics.siteFailing.Reset()
	for _, st := range statuses {
		counts[st.State]++
		if st.State != SiteServing {
			a.metrics.siteFailing.WithLabelValues(st.Name, st.State).Set(1)
		}
	}
	for state, n := range counts {
		a.metrics.sites.WithLabelValues(state).Set(float64(n))
	}
}

func (a *Agent) finishPoll(start time.Time, commit, outcome string) {
	a.metrics.polls.WithLabelValues(outcome).Inc()
	a.setPoll(PollStatus{At: start, Outcome: outcome, Commit: commit, Duration: time.Since(start).Seconds()})
}

func (a *Agent) setPoll(p PollStatus) {
	a.mu.Lock()
	a.status.LastPoll = p
	a.mu.Unlock()
}

// refsOf lists the key references of cfg's sites.
func refsOf(cfg *schema.Config) []schema.KeyRef {
	refs := make([]schema.KeyRef, len(cfg.Sites))
	for i, s := range cfg.Sites {
		refs[i] = s.Key
	}
	return refs
}
