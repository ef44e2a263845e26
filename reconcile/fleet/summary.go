package fleet

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/schema"
)

// State is what one agent is, seen from the fleet.
type State string

// Agent states, from best to worst; an agent is in the worst that applies.
const (
	// Current: serves the target commit, nothing rejected.
	Current State = "current"
	// Lagging: serves another commit than the target, or none yet.
	Lagging State = "lagging"
	// Rejecting: its status holds a rejected revision.
	Rejecting State = "rejecting"
	// Unreachable: its status could not be read.
	Unreachable State = "unreachable"
)

// Agent is one agent in a Summary.
type Agent struct {
	Addr string `json:"addr"`
	// Name is the DNS name Addr was found under (dns: addresses).
	Name string `json:"name,omitempty"`
	// Commit is the commit it serves; empty when none or unreachable.
	Commit     string    `json:"commit"`
	CommitTime time.Time `json:"commitTime,omitzero"`
	// Since is when it started serving Commit.
	Since time.Time `json:"since,omitzero"`
	State State     `json:"state"`
	// Error says why the agent is unreachable, or which revision it rejects and the first
	// reason ("rejected 0123abcd: sites/x.cue:3:5: ...").
	Error    string     `json:"error,omitempty"`
	Rejected *Rejection `json:"rejected,omitempty"`
	// SitesFailing counts its sites that are stale or failed (not part of convergence).
	SitesFailing int `json:"sitesFailing,omitempty"`
}

// Rejection is the revision an agent rejects and the first reason.
type Rejection struct {
	Commit string `json:"commit"`
	// Diagnostic is the first diagnostic (file:line:col: message) or the error.
	Diagnostic string `json:"diagnostic"`
	// More counts the diagnostics after the first.
	More int `json:"more,omitempty"`
}

// Commit is one commit some agents serve.
type Commit struct {
	Commit string `json:"commit"`
	// Agents is how many agents serve it.
	Agents     int       `json:"agents"`
	CommitTime time.Time `json:"commitTime,omitzero"`
	// Target is set on the commit every agent should serve.
	Target bool `json:"target,omitempty"`
}

// Summary is the fleet's state at one moment.
type Summary struct {
	// Agents in the order they were given (a dns: name's addresses sorted).
	Agents []Agent `json:"agents"`
	// Commits served, newest first.
	Commits []Commit `json:"commits"`
	// Want is the commit (or prefix) asked for; empty: the newest served.
	Want string `json:"want,omitempty"`
	// Target is the full commit every agent should serve: the one matching Want, or the
	// newest served; Want itself when no agent knows it; empty when no agent serves one.
	Target string `json:"target,omitempty"`
	// Converged: every agent is Current.
	Converged bool `json:"converged"`
	// Counts of agents by state.
	Counts    map[State]int `json:"counts"`
	CheckedAt time.Time     `json:"checkedAt"`
}

// Summarize judges results against want (a commit or a prefix of one; empty: the newest
// commit served).
func Summarize(results []Result, want string, now time.Time) Summary {
	s := Summary{Want: want, CheckedAt: now, Agents: make([]Agent, 0, len(results)), Commits: []Commit{},
		Counts: map[State]int{Current: 0, Lagging: 0, Rejecting: 0, Unreachable: 0}}
	s.Commits = servedCommits(results)
	s.Target = target(results, s.Commits, want)
	for i := range s.Commits {
		s.Commits[i].Target = s.Commits[i].Commit == s.Target
	}
	for _, r := range results {
		a := judge(r, s.Target)
		s.Counts[a.State]++
		s.Agents = append(s.Agents, a)
	}
	s.Converged = len(s.Agents) > 0 && s.Counts[Current] == len(s.Agents)
	return s
}

// servedCommits counts the agents serving each commit, newest first (see newer).
func servedCommits(results []Result) []Commit {
	type seen struct {
		Commit
		first time.Time // the earliest Since of an agent serving it
	}
	by := map[string]*seen{}
	for _, r := range results {
		c := r.Serving.Commit
		if r.Err != nil || c == "" {
			continue
		}
		e := by[c]
		if e == nil {
			e = &seen{Commit: Commit{Commit: c, CommitTime: r.Serving.CommitTime}, first: r.Serving.Since}
			by[c] = e
		}
		e.Agents++
		if !r.Serving.Since.IsZero() && (e.first.IsZero() || r.Serving.Since.Before(e.first)) {
			e.first = r.Serving.Since
		}
		if e.CommitTime.IsZero() {
			e.CommitTime = r.Serving.CommitTime
		}
	}
	all := make([]*seen, 0, len(by))
	for _, e := range by {
		all = append(all, e)
	}
	// Newest first: the later committer time; on a tie (or none known) the commit some
	// agent applied last, which came after the other; then by hash for a stable order.
	slices.SortFunc(all, func(a, b *seen) int {
		return cmp.Or(b.CommitTime.Compare(a.CommitTime), b.first.Compare(a.first), strings.Compare(a.Commit.Commit, b.Commit.Commit))
	})
	out := make([]Commit, len(all))
	for i, e := range all {
		out[i] = e.Commit
	}
	return out
}

// target is the full commit every agent should serve (see Summary.Target).
func target(results []Result, commits []Commit, want string) string {
	if want == "" {
		if len(commits) == 0 {
			return ""
		}
		return commits[0].Commit
	}
	for _, c := range commits {
		if strings.HasPrefix(c.Commit, want) {
			return c.Commit
		}
	}
	for _, r := range results {
		if r.Rejected != nil && strings.HasPrefix(r.Rejected.Commit, want) {
			return r.Rejected.Commit
		}
	}
	return want
}

// judge is r seen against the target commit.
func judge(r Result, target string) Agent {
	a := Agent{Addr: r.Target.Addr, Name: r.Target.Name, Commit: r.Serving.Commit, CommitTime: r.Serving.CommitTime,
		Since: r.Serving.Since, SitesFailing: r.SitesFailing}
	switch {
	case r.Err != nil:
		a.State, a.Error = Unreachable, r.Err.Error()
	case r.Rejected != nil:
		a.State, a.Rejected = Rejecting, rejection(r.Rejected)
		a.Error = "rejected " + short(a.Rejected.Commit) + ": " + a.Rejected.Diagnostic
	case a.Commit == "" || a.Commit != target:
		a.State = Lagging
	default:
		a.State = Current
	}
	return a
}

// rejection is the first reason of rej: its first error (rather than a warning before it).
func rejection(rej *reconcile.RejectedStatus) *Rejection {
	r := &Rejection{Commit: rej.Commit, Diagnostic: rej.Error}
	if len(rej.Errors) == 0 {
		return r
	}
	first := rej.Errors[0]
	for _, d := range rej.Errors {
		if d.Severity == schema.SeverityError {
			first = d
			break
		}
	}
	r.Diagnostic, r.More = first.String(), len(rej.Errors)-1
	return r
}

// short is commit's first 12 characters.
func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
