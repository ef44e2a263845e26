package reconcile

import (
	"context"
	"errors"
	"time"

	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/schema"
)

// Step polls the source once and, if the revision moved or keys are due, reconciles. It
// returns the poll's error (the repo could not be reached); reconcile outcomes are reported
// in Status (Status.LastPoll.Outcome is the step's PollOutcome).
func (a *Agent) Step(ctx context.Context) error {
	a.stepMu.Lock()
	defer a.stepMu.Unlock()
	defer a.releaseIfDue()
	if !a.restored {
		a.restored = true
		a.readEvalCacheAhead()
		a.restoreState(ctx)
	}
	a.stepCounts, a.phases = nil, stepPhases{}
	start := time.Now()
	rev, changed, err := a.opts.Source.Poll(ctx)
	a.phases.poll = time.Since(start)
	var refused *gitsource.CommitError
	if errors.As(err, &refused) {
		// The source reached the commit and refused it (signature policy, no such subdir):
		// a rejected revision, shown as such (commit and reason), not a failure to reach
		// the repo. Polls go on at the usual interval; served keys are still refreshed.
		a.reject(start, &RejectedStatus{Commit: refused.Commit, At: start, Error: err.Error()}, err)
		a.refreshKeys(ctx, start)
		return nil
	}
	if err != nil {
		a.metrics.polls.WithLabelValues(string(PollError)).Inc()
		a.log.Warn("poll failed; still serving the current snapshot", "err", err)
		a.setPersistedReason("repo unreachable: " + err.Error())
		a.setPoll(PollStatus{At: start, Outcome: PollError, Error: err.Error(), Duration: time.Since(start).Seconds()})
		a.record(start, "", PollError, err.Error(), false)
		return err
	}
	serving := a.status.Load().Serving.Commit
	if !changed && a.cfg != nil && rev.Commit == serving {
		a.clearPersisted() // the repo names the commit restored at start: confirmed
	}
	if rej := a.status.Load().Rejected; !changed && rej != nil && rej.Commit != rev.Commit {
		// The branch is back on a commit other than the rejected one (a refused commit was
		// force-pushed away, say).
		if a.cfg != nil && rev.Commit == serving {
			a.clearRejected() // the commit being served: nothing is rejected any more
		} else {
			changed = true // another commit: the verdict shown is not its own, judge it
		}
	}
	switch {
	case changed || a.cfg == nil && a.status.Load().Rejected == nil:
		a.apply(ctx, start, rev)
	default:
		outcome, refreshed := a.refreshKeys(ctx, start)
		if !refreshed {
			outcome = PollUnchanged
		}
		a.finishPoll(start, rev.Commit, outcome)
	}
	return nil
}

// refreshKeys recompiles the served config when, on the same commit, a key is due for its
// slow refresh or a failed read is due for a retry, or an issued certificate changed. It returns the outcome and whether it
// did.
func (a *Agent) refreshKeys(ctx context.Context, start time.Time) (PollOutcome, bool) {
	if a.cfg == nil || !a.keys.Due(a.cfgRefs) && !a.usersDue() && !a.issuedDue() {
		return "", false
	}
	serving := a.status.Load().Serving
	t := target{commit: serving.Commit, signer: serving.Signer, commitTime: serving.CommitTime, cfg: a.cfg, refs: a.cfgRefs}
	return a.compileAndPublish(ctx, start, t), true
}

// apply validates rev and, if it is valid, compiles and publishes it.
func (a *Agent) apply(ctx context.Context, start time.Time, rev *gitsource.Revision) {
	defer a.writeEvalCache() // once the snapshot serves
	t0 := time.Now()
	cfg, prefetch, err := a.load(ctx, rev.FS)
	a.phases.load = time.Since(t0)
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
	t := target{commit: rev.Commit, signer: rev.Signer, commitTime: rev.Time, cfg: cfg, refs: refsOf(cfg, a.cfgRefs), newCommit: true, prefetch: prefetch}
	outcome := a.compileAndPublish(ctx, start, t)
	if outcome != PollRejected {
		a.cfg, a.cfgRefs = t.cfg, t.refs // (publish cleared any rejection)
		a.saveState(rev)
	}
	a.finishPoll(start, rev.Commit, outcome)
}

// reject records rej as the rejected revision (see setRejected) and ends the poll as
// rejected.
func (a *Agent) reject(start time.Time, rej *RejectedStatus, err error) {
	a.setRejected(rej, err)
	a.finishPoll(start, rej.Commit, PollRejected)
}

// setRejected records rej as the rejected revision: the previous snapshot keeps serving. The
// same rejection again (a refused commit polled again) keeps its first time and is not
// logged again.
func (a *Agent) setRejected(rej *RejectedStatus, err error) {
	st := a.status.Load()
	prev := st.Rejected
	again := prev != nil && prev.Commit == rej.Commit && prev.Error == rej.Error && len(prev.Errors) == len(rej.Errors)
	if again {
		rej.At = prev.At
	}
	a.updateStatus(func(s *Status) { s.Rejected = rej })
	a.metrics.rejected.Set(1)
	a.setPersistedReason(rejectedReason(rej))
	if !again {
		a.log.Error("revision rejected; still serving the previous snapshot",
			"commit", rej.Commit, "serving", st.Serving.Commit, "err", err)
	}
}

// clearRejected forgets the rejected revision, if any.
func (a *Agent) clearRejected() {
	a.updateStatus(func(s *Status) { s.Rejected = nil })
	a.metrics.rejected.Set(0)
}

// finishPoll counts the poll and records it in status: as the last poll and, unless it
// changed nothing, in the history.
func (a *Agent) finishPoll(start time.Time, commit string, outcome PollOutcome) {
	a.metrics.pollFinished(outcome)
	a.setPoll(PollStatus{At: start, Outcome: outcome, Commit: commit, Duration: time.Since(start).Seconds()})
	if outcome != PollUnchanged {
		why := ""
		if rej := a.status.Load().Rejected; outcome == PollRejected && rej != nil {
			why = rejectedWhy(rej)
		}
		a.record(start, commit, outcome, why, false)
	}
}

func (a *Agent) setPoll(p PollStatus) {
	a.updateStatus(func(s *Status) { s.LastPoll = p })
}
