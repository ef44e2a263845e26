package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/edge/pace"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// target is what one reconcile compiles: a validated config at a commit.
type target struct {
	commit, signer string
	commitTime     time.Time // the commit's committer time; zero when unknown
	cfg            *schema.Config
	refs           []schema.KeyRef // the key references of cfg's sites
	newCommit      bool            // a commit not served before (else a key refresh of the served one)
	restored       bool            // the revision restored from the state store at start
	// prefetch holds the keys read while cfg was loaded (Agent.load); nil: none.
	prefetch *keysource.Prefetch
}

// plan is one reconcile's decision, carried from compile to publish: the sites to serve and
// what status will say of each. publish may drop the stale sites from it (see dropStale).
type plan struct {
	target
	next     map[string]*compiledSite // by name: the sites to serve
	statuses []SiteStatus             // one per site of cfg, in its order
	stale    map[string]bool          // sites serving their previous version
	counts   planCounts
}

// planCounts sum up a plan for the log.
type planCounts struct {
	added, changed, removed, failed int
	keyReads                        int // reads from the key source this reconcile made
}

// outcome is the poll outcome the plan stands for, if it publishes: PollUnchanged when a
// key refresh changed no site, else PollPartial when a site failed, else PollApplied.
func (p *plan) outcome() PollOutcome {
	c := p.counts
	switch {
	case !p.newCommit && c.added == 0 && c.changed == 0 && c.removed == 0:
		return PollUnchanged
	case c.failed > 0:
		return PollPartial
	}
	return PollApplied
}

// sites lists the compiled sites to serve in cfg's order, without the stale ones if
// withoutStale.
func (p *plan) sites(withoutStale bool) []*edge.Site {
	sites := make([]*edge.Site, 0, len(p.next))
	var tick pace.Ticker
	for _, s := range p.cfg.Sites {
		tick.Tick()
		if cs, ok := p.next[s.Name]; ok && !(withoutStale && p.stale[s.Name]) {
			sites = append(sites, cs.site)
		}
	}
	return sites
}

// dropStale takes the stale sites out of the plan: not served, and failed in status.
func (p *plan) dropStale() {
	for name := range p.stale {
		delete(p.next, name)
	}
	for i := range p.statuses {
		if st := &p.statuses[i]; p.stale[st.Name] {
			st.State, st.Commit = SiteFailed, ""
			st.NotAfter, st.KeyVersion = time.Time{}, 0
		}
	}
}

// compileAndPublish compiles every site of t (reusing unchanged ones), publishes the result
// and the per-site status. It returns PollApplied, PollPartial, PollUnchanged, or
// PollRejected when the compiled sites did not form a consistent snapshot.
func (a *Agent) compileAndPublish(ctx context.Context, start time.Time, t target) PollOutcome {
	p := a.compile(ctx, t)
	a.stepCounts = &p.counts
	outcome := p.outcome()
	t0 := time.Now()
	if outcome == PollUnchanged {
		a.updateStatus(func(s *Status) { s.Sites = p.statuses })
	} else if err := a.publish(p); err != nil {
		a.setRejected(&RejectedStatus{Commit: t.commit, At: start, Error: err.Error()}, err)
		return PollRejected
	}
	a.phases.publish = time.Since(t0)
	a.adopt(p.next)
	if p.counts.added+p.counts.changed >= bigReconcile {
		a.releaseDue = true // at the end of the step, after the state save (memrelease.go)
	}
	a.siteMetrics(p.statuses)
	d := time.Since(start)
	a.metrics.reconcile.Observe(d.Seconds())
	c := p.counts
	a.log.Info("reconciled", "commit", t.commit, "outcome", outcome, "duration", d.Round(time.Microsecond),
		"added", c.added, "changed", c.changed, "removed", c.removed, "failed", c.failed, "key_reads", c.keyReads,
		"generation", a.generation, a.phases.attr())
	return outcome
}

// bigReconcile is the number of sites compiled in one reconcile after which the agent hands
// the memory it used back to the OS.
const bigReconcile = 1000

// compile reads the keys t needs (those new or due) and compiles its sites into a plan.
func (a *Agent) compile(ctx context.Context, t target) *plan {
	var tick pace.Ticker // each walk of the sites yields to the requests now and then
	for _, s := range t.cfg.Sites {
		tick.Tick()
		// A new certificate usually comes with a new key under the same reference (a
		// rotation): read that key again rather than wait for the slow refresh.
		if prev := a.compiled[s.Name]; prev != nil && prev.decl != s && s.Passthrough == nil && !bytes.Equal(prev.decl.Cert.PEM, s.Cert.PEM) {
			a.keys.Expire(s.Key)
		}
	}
	p := &plan{target: t, next: a.takeSpare(len(t.cfg.Sites)),
		statuses: make([]SiteStatus, 0, len(t.cfg.Sites)), stale: map[string]bool{}}
	t0 := time.Now()
	a.syncIssued(ctx, t.cfg)
	p.counts.keyReads = a.keys.SyncPrefetched(ctx, t.refs, t.prefetch) + a.syncUsers(ctx, t.cfg)
	a.metrics.keyReads.Add(float64(p.counts.keyReads))
	a.phases.keys = since(&t0)
	kept := 0 // the sites of a.compiled still in t.cfg (names are unique)
	for _, s := range t.cfg.Sites {
		tick.Tick()
		prev := a.compiled[s.Name]
		if prev != nil {
			kept++
		}
		if !a.reusePlan(p, s, prev) {
			a.planSite(p, s, prev)
		}
	}
	a.phases.compile = since(&t0)
	p.counts.removed = len(a.compiled) - kept
	return p
}

// adopt makes next the compiled sites. The map it replaces is emptied at once, so that it
// holds no site (and its certificates) past its snapshot, and kept for the next plan.
func (a *Agent) adopt(next map[string]*compiledSite) {
	clear(a.compiled)
	a.compiled, a.spare = next, a.compiled
}

// takeSpare returns an empty map for a plan's sites: the one compiled was before the last
// publish, emptied then (at 10,000 sites a new one was 0.6 MB of garbage per swap), or a
// new one for n sites.
func (a *Agent) takeSpare(n int) map[string]*compiledSite {
	if m := a.spare; m != nil {
		a.spare = nil
		return m
	}
	return make(map[string]*compiledSite, n)
}

// reusePlan plans site s as the last compile did, if that compile planned this very
// declaration to serve with the same keys and users as now, and it has no issued
// certificate (whose state lives outside the agent): planSite would then reach the same
// compiled site and status, at the cost of hashing its key reference, comparing its
// digests and reading its certificate again. At 10,000 sites a one-file change plans
// 9,999 sites this way. It reports whether it did.
func (a *Agent) reusePlan(p *plan, s *schema.Site, prev *compiledSite) bool {
	if prev == nil || prev.last.decl != s || s.Issuer != "" || prev.last.status.State != SiteServing ||
		prev.last.keys != a.keys.Version() || prev.last.users != a.usersVersion() {
		return false
	}
	p.next[s.Name] = prev
	p.statuses = append(p.statuses, prev.last.status)
	return true
}

// usersVersion is the users cache's Version, or 0 without one.
func (a *Agent) usersVersion() uint64 {
	if a.users == nil {
		return 0
	}
	return a.users.Version()
}

// planSite compiles site s into p: its new version, its last good one (stale) if it fails
// to compile, or none (failed).
func (a *Agent) planSite(p *plan, s *schema.Site, prev *compiledSite) {
	st := SiteStatus{Name: s.Name, File: s.File, Hosts: s.Hosts, State: SiteServing, Passthrough: s.Passthrough != nil, Issue: a.issueStatus(s)}
	var key keysource.Entry // looked up once: 10,000 KeyRef hashes at 10,000 sites
	keyOK := false
	if s.Passthrough == nil && s.Issuer == "" {
		key, keyOK = a.keys.Lookup(s.Key)
	}
	cs, err := a.compileOne(s, prev, p.commit, key, keyOK)
	switch {
	case err != nil && prev == nil:
		p.counts.failed++
		st.State, st.Error = SiteFailed, err.Error()
		p.statuses = append(p.statuses, st)
		return
	case err != nil:
		p.counts.failed++
		st.State, st.Error, cs = SiteStale, err.Error(), prev
		p.stale[s.Name] = true
	case cs != prev && prev == nil:
		p.counts.added++
	case cs != prev:
		p.counts.changed++
	}
	p.next[s.Name] = cs
	st.Commit, st.KeyVersion = cs.site.Commit, cs.keyVersion
	if s.Passthrough == nil && s.Issuer == "" {
		if keyOK && key.Err != nil && st.Error == "" {
			st.Error = "key refresh failed, serving the key read before: " + key.Err.Error()
		}
		if st.Error == "" {
			st.Error = a.usersRefreshError(s)
		}
	}
	if l := cs.site.CertLeaf(0); l != nil { // a passthrough site (or its stale version) has none
		st.NotAfter = l.NotAfter
	}
	p.statuses = append(p.statuses, st)
	cs.last = lastPlan{status: st, decl: s, keys: a.keys.Version(), users: a.usersVersion()}
}

// compileOne returns prev when neither the declaration nor the key changed, a freshly
// compiled site otherwise, or an error if the key is missing or does not fit. e and ok are
// what the key cache holds for s.Key (unused for passthrough and issued sites).
func (a *Agent) compileOne(s *schema.Site, prev *compiledSite, commit string, e keysource.Entry, ok bool) (*compiledSite, error) {
	if s.Passthrough != nil { // no key to read
		if prev != nil && prev.decl.Digest == s.Digest {
			return prev, nil
		}
		site, err := CompileSite(s, keysource.Key{}, commit)
		if err != nil {
			return nil, err
		}
		return &compiledSite{decl: s, site: site}, nil
	}
	if s.Issuer != "" {
		return a.compileIssued(s, prev, commit)
	}
	if !ok || !e.Have {
		err := errors.New("key not read yet")
		if ok && e.Err != nil {
			err = e.Err
		}
		return nil, fmt.Errorf("site %s (%s): key %s: %w", s.Name, s.File, keysource.RefName(s.Key), err)
	}
	users, usersSum, err := a.siteUsers(s)
	if err != nil {
		return nil, err
	}
	if prev != nil && prev.decl.Digest == s.Digest && prev.decl.Key == s.Key && prev.keySum == e.Sum && prev.usersSum == usersSum {
		return prev, nil
	}
	site, err := CompileSite(s, e.Key, commit)
	if err != nil {
		return nil, err
	}
	site.Users = users
	if err := a.attachContent(s, site); err != nil {
		return nil, err
	}
	return &compiledSite{decl: s, keySum: e.Sum, keyVersion: e.Key.Version, usersSum: usersSum, site: site}, nil
}

// publish hands the plan's sites to the publisher. If that fails while some sites are stale
// (an old version kept beside new versions of the others can conflict, e.g. a hostname
// moved), it tries again without the stale sites and marks them failed.
//
// On success it publishes the serving commit, the sites and the rejection as one new Status;
// Status calls made while it runs wait for it, so /status never shows the previous state
// once the new snapshot serves. A new commit clears any rejection; a republish of the same
// commit (key refresh) clears only a rejection of that commit.
func (a *Agent) publish(p *plan) error {
	done := make(chan struct{})
	a.publishing.Store(&done)
	defer func() {
		a.publishing.Store(nil)
		close(done)
	}()
	err := a.opts.Publisher.Publish(a.generation+1, p.commit, p.sites(false))
	if err != nil && len(p.stale) > 0 {
		if err = a.opts.Publisher.Publish(a.generation+1, p.commit, p.sites(true)); err == nil {
			p.dropStale()
		}
	}
	if err != nil {
		return err
	}
	a.generation++
	a.metrics.applied.SetToCurrentTime()
	a.metrics.serving.Reset()
	a.metrics.serving.WithLabelValues(p.commit).Set(1)
	prev := a.status.Load()
	persisted := prev.Serving.Persisted // a key refresh of the restored commit: still it
	switch {
	case p.restored:
		persisted = &PersistedStatus{Reason: "restored at start; the repo not polled yet"}
	case p.newCommit:
		persisted = nil
	}
	a.metrics.persisted.Set(boolGauge(persisted != nil))
	clearRejected := prev.Rejected != nil && (p.newCommit || prev.Rejected.Commit == p.commit)
	a.updateStatus(func(s *Status) {
		s.Serving = ServingStatus{Commit: p.commit, CommitTime: p.commitTime, Signer: p.signer, Generation: a.generation, Since: time.Now(), Persisted: persisted}
		s.Sites = p.statuses
		if clearRejected {
			s.Rejected = nil
		}
	})
	if clearRejected {
		a.metrics.rejected.Set(0)
	}
	return nil
}

// siteMetrics sets the per-state site counts and the failing-site series.
func (a *Agent) siteMetrics(statuses []SiteStatus) {
	counts := map[SiteState]int{SiteServing: 0, SiteStale: 0, SiteFailed: 0}
	a.metrics.siteFailing.Reset()
	var tick pace.Ticker
	for _, st := range statuses {
		tick.Tick()
		counts[st.State]++
		if st.State != SiteServing {
			a.metrics.siteFailing.WithLabelValues(st.Name, string(st.State)).Set(1)
		}
	}
	for state, n := range counts {
		a.metrics.sites.WithLabelValues(string(state)).Set(float64(n))
	}
}
