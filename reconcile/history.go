package reconcile

import (
	"slices"
	"time"
)

// HistoryLen is how many reconciles Status.History keeps.
const HistoryLen = 100

// ReconcileRecord is one reconcile in Status.History: a poll that applied a commit (or a key
// read again), rejected one, or could not reach the repo. Polls that changed nothing are not
// recorded.
type ReconcileRecord struct {
	Commit string `json:"commit,omitempty"`
	// Outcome is PollApplied, PollPartial, PollRejected or PollError.
	Outcome  PollOutcome `json:"outcome"`
	Start    time.Time   `json:"start"`
	Duration float64     `json:"durationSeconds"`
	// Sites added, changed (recompiled), removed and failed (stale or failed) by this
	// reconcile; zero for a rejected commit or an unreachable repo.
	Added   int `json:"added"`
	Changed int `json:"changed"`
	Removed int `json:"removed"`
	Failed  int `json:"failed"`
	// Error says in one line why the commit was rejected or the repo not reached.
	Error string `json:"error,omitempty"`
	// Restored is set on the reconcile that served the revision kept in the state directory
	// at start.
	Restored bool `json:"restored,omitempty"`
	// Repeats counts the later polls that came to the same (same commit, outcome and
	// error) right after this one, folded into it; Last is the start of the latest of them.
	Repeats int       `json:"repeats,omitempty"`
	Last    time.Time `json:"last,omitzero"`
}

// sameAs reports whether r repeats the verdict of the earlier record prev (a commit refused
// again, the repo still unreachable): such polls are folded into prev.
func (r *ReconcileRecord) sameAs(prev *ReconcileRecord) bool {
	return (r.Outcome == PollRejected || r.Outcome == PollError) && !r.Restored &&
		prev.Outcome == r.Outcome && prev.Commit == r.Commit && prev.Error == r.Error
}

// withRecord returns history (newest first) with r in front, at most HistoryLen records, or
// with r folded into the newest record when it repeats it. history is never changed: the
// result is a new slice, so Status values holding history stay as they were.
func withRecord(history []ReconcileRecord, r ReconcileRecord) []ReconcileRecord {
	if len(history) > 0 && r.sameAs(&history[0]) {
		out := slices.Clone(history)
		out[0].Repeats++
		out[0].Last = r.Start
		return out
	}
	out := make([]ReconcileRecord, min(len(history)+1, HistoryLen))
	out[0] = r
	copy(out[1:], history)
	return out
}

// record adds a reconcile to the history in status. The site counts are those of the plan
// this step published, if it published one (see compileAndPublish).
func (a *Agent) record(start time.Time, commit string, outcome PollOutcome, errText string, restored bool) {
	r := ReconcileRecord{Commit: commit, Outcome: outcome, Start: start, Duration: time.Since(start).Seconds(),
		Error: errText, Restored: restored}
	if c := a.stepCounts; c != nil && (outcome == PollApplied || outcome == PollPartial) {
		r.Added, r.Changed, r.Removed, r.Failed = c.added, c.changed, c.removed, c.failed
	}
	a.stepCounts = nil
	a.updateStatus(func(s *Status) { s.History = withRecord(s.History, r) })
}
