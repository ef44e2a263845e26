package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/edgectl/edge/reconcile/gitsource"
)

// restoreState serves the revision the state store kept from an earlier run, if any,
// before the first poll: a restart while the repo is unreachable or its newest commit
// invalid serves the last accepted commit rather than nothing. Keys are read again from
// the key source. A state that cannot be read or no longer validates is logged and
// ignored: the agent then starts as if it had none.
func (a *Agent) restoreState(ctx context.Context) {
	if a.opts.State == nil {
		return
	}
	defer a.writeEvalCache()
	start := time.Now()
	rev, err := a.opts.State.RestoreAccepted(ctx)
	if err != nil {
		a.log.Warn("state dir: saved revision ignored", "err", err)
		a.setStateError(err)
		return
	}
	if rev == nil {
		return
	}
	t0 := time.Now()
	cfg, prefetch, err := a.load(ctx, rev.FS)
	a.phases = stepPhases{load: time.Since(t0)} // the "reconciled" line's phases (no poll)
	if err != nil {
		err = fmt.Errorf("reconcile: saved commit %s no longer validates: %w", rev.Commit, err)
		a.log.Warn("state dir: saved revision ignored", "err", err)
		a.setStateError(err)
		return
	}
	t := target{commit: rev.Commit, signer: rev.Signer, commitTime: rev.Time, cfg: cfg, refs: refsOf(cfg, a.cfgRefs), newCommit: true, restored: true, prefetch: prefetch}
	outcome := a.compileAndPublish(ctx, start, t)
	why := ""
	if rej := a.status.Load().Rejected; outcome == PollRejected && rej != nil {
		why = rejectedWhy(rej)
	}
	a.record(start, rev.Commit, outcome, why, true)
	if outcome == PollRejected {
		return
	}
	a.cfg, a.cfgRefs = t.cfg, t.refs
	a.log.Info("serving the revision saved in the state dir until the repo gives a newer valid one",
		"commit", rev.Commit, "outcome", outcome, "took", time.Since(start).Round(time.Microsecond))
}

// evalCacheReader is a Loader that can read its evaluation cache ahead of its first load
// (schema.Loader with LoaderOptions.CacheDir).
type evalCacheReader interface{ ReadEvalCacheAhead() }

// readEvalCacheAhead has the loader read its evaluation cache while the agent restores
// its saved revision (or, without one, clones the repo): the load that follows then finds
// the cache read.
func (a *Agent) readEvalCacheAhead() {
	if r, ok := a.opts.Loader.(evalCacheReader); ok {
		r.ReadEvalCacheAhead()
	}
}

// evalCacheWriter is a Loader that leaves writing its evaluation cache until told
// (schema.Loader with LoaderOptions.DeferCacheWrite): the agent tells it once the load's
// snapshot serves, so that the write does not delay serving.
type evalCacheWriter interface{ WriteEvalCache() }

// writeEvalCache writes the loader's evaluation cache, if it left one to write.
func (a *Agent) writeEvalCache() {
	if w, ok := a.opts.Loader.(evalCacheWriter); ok {
		w.WriteEvalCache()
	}
}

// saveState keeps rev, just accepted, in the state store. A failure is logged and shown in
// Status: the agent serves on, but a restart would not find this revision.
func (a *Agent) saveState(rev *gitsource.Revision) {
	if a.opts.State == nil {
		return
	}
	if err := a.opts.State.SaveAccepted(rev); err != nil {
		a.log.Warn("state dir: accepted revision not saved; a restart would not serve it before the repo answers", "err", err)
		a.setStateError(err)
		return
	}
	a.setStateError(nil)
}

func (a *Agent) setStateError(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	a.updateStatus(func(s *Status) { s.StateError = msg })
}

// setPersistedReason records why the restored revision is still served, if it is.
func (a *Agent) setPersistedReason(reason string) {
	if p := a.status.Load().Serving.Persisted; p != nil && p.Reason != reason {
		a.updateStatus(func(s *Status) { s.Serving.Persisted = &PersistedStatus{Reason: reason} })
	}
}

// clearPersisted marks the serving revision as confirmed by the repo.
func (a *Agent) clearPersisted() {
	if a.status.Load().Serving.Persisted != nil {
		a.updateStatus(func(s *Status) { s.Serving.Persisted = nil })
		a.metrics.persisted.Set(0)
	}
}

// rejectedReason says in one line why rej is not served, e.g. "HEAD 0123abcd rejected:
// sites/x.cue:3:5: ... (and 2 more)".
func rejectedReason(rej *RejectedStatus) string {
	return fmt.Sprintf("HEAD %s rejected: %s", shortHash(rej.Commit), rejectedWhy(rej))
}

// rejectedWhy says in one line why rej is not served: its error or first diagnostic, e.g.
// "sites/x.cue:3:5: ... (and 2 more)".
func rejectedWhy(rej *RejectedStatus) string {
	why := rej.Error
	if len(rej.Errors) > 0 {
		why = rej.Errors[0].String()
		if n := len(rej.Errors) - 1; n > 0 {
			why += fmt.Sprintf(" (and %d more)", n)
		}
	}
	return why
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
