package fleet

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/schema"
)

const (
	oldCommit = "1111111111111111111111111111111111111111"
	newCommit = "2222222222222222222222222222222222222222"
	badCommit = "3333333333333333333333333333333333333333"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// serving is the result of an agent at addr serving commit, committed at committed and
// applied at since.
func serving(addr, commit string, committed, since time.Time) Result {
	return Result{Target: Target{Addr: addr}, Serving: reconcile.ServingStatus{Commit: commit, CommitTime: committed, Since: since}}
}

func TestSummarize(t *testing.T) {
	old := func(addr string) Result { return serving(addr, oldCommit, t0, t0.Add(time.Minute)) }
	cur := func(addr string) Result { return serving(addr, newCommit, t0.Add(time.Hour), t0.Add(61*time.Minute)) }
	rejecting := cur("c:9443")
	rejecting.Rejected = &reconcile.RejectedStatus{Commit: badCommit, Errors: schema.Diagnostics{
		{File: "sites/x.cue", Line: 3, Col: 5, Severity: schema.SeverityError, Message: "hosts: incomplete value"},
		{File: "sites/y.cue", Line: 1, Col: 1, Severity: schema.SeverityError, Message: "other"}}}
	unreachable := Result{Target: Target{Addr: "c:9443"}, Err: errors.New("dial tcp c:9443: connection refused")}
	// Same committer time (commits in one second): the commit applied later is newer.
	sameSecondOld := serving("a:9443", oldCommit, t0, t0.Add(time.Minute))
	sameSecondNew := serving("b:9443", newCommit, t0, t0.Add(2*time.Minute))
	tests := []struct {
		name      string
		results   []Result
		want      string
		target    string
		converged bool
		states    []State
		commits   map[string]int
		errHas    string
	}{
		{"converged", []Result{cur("a:9443"), cur("b:9443"), cur("c:9443")}, "", newCommit, true,
			[]State{Current, Current, Current}, map[string]int{newCommit: 3}, ""},
		{"one lagging", []Result{cur("a:9443"), old("b:9443"), cur("c:9443")}, "", newCommit, false,
			[]State{Current, Lagging, Current}, map[string]int{newCommit: 2, oldCommit: 1}, ""},
		{"lagging listed first", []Result{old("a:9443"), cur("b:9443")}, "", newCommit, false,
			[]State{Lagging, Current}, map[string]int{newCommit: 1, oldCommit: 1}, ""},
		{"one rejecting", []Result{cur("a:9443"), cur("b:9443"), rejecting}, "", newCommit, false,
			[]State{Current, Current, Rejecting}, map[string]int{newCommit: 3}, "rejected 333333333333: sites/x.cue:3:5: error: hosts: incomplete value"},
		{"one unreachable", []Result{cur("a:9443"), cur("b:9443"), unreachable}, "", newCommit, false,
			[]State{Current, Current, Unreachable}, map[string]int{newCommit: 2}, "connection refused"},
		{"want prefix, converged", []Result{cur("a:9443"), cur("b:9443")}, "2222222", newCommit, true,
			[]State{Current, Current}, map[string]int{newCommit: 2}, ""},
		{"want the older commit", []Result{cur("a:9443"), old("b:9443")}, "1111", oldCommit, false,
			[]State{Lagging, Current}, map[string]int{newCommit: 1, oldCommit: 1}, ""},
		{"want a commit nobody serves", []Result{cur("a:9443"), cur("b:9443")}, "abcdef", "abcdef", false,
			[]State{Lagging, Lagging}, map[string]int{newCommit: 2}, ""},
		{"same committer time", []Result{sameSecondOld, sameSecondNew}, "", newCommit, false,
			[]State{Lagging, Current}, map[string]int{newCommit: 1, oldCommit: 1}, ""},
		{"an agent serving nothing yet", []Result{cur("a:9443"), {Target: Target{Addr: "b:9443"}}}, "", newCommit, false,
			[]State{Current, Lagging}, map[string]int{newCommit: 1}, ""},
		{"no agent", nil, "", "", false, nil, map[string]int{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.results, tt.want, t0)
			if s.Target != tt.target || s.Converged != tt.converged {
				t.Errorf("target %s converged %v; want %s %v", s.Target, s.Converged, tt.target, tt.converged)
			}
			if len(s.Agents) != len(tt.states) {
				t.Fatalf("%d agents; want %d", len(s.Agents), len(tt.states))
			}
			for i, a := range s.Agents {
				if a.State != tt.states[i] {
					t.Errorf("agent %s: %s; want %s", a.Addr, a.State, tt.states[i])
				}
				if a.State != Current && a.State != Lagging && !strings.Contains(a.Error, tt.errHas) {
					t.Errorf("agent %s error %q; want it to contain %q", a.Addr, a.Error, tt.errHas)
				}
			}
			if len(s.Commits) != len(tt.commits) {
				t.Errorf("commits %+v; want %v", s.Commits, tt.commits)
			}
			for i, c := range s.Commits {
				if c.Agents != tt.commits[c.Commit] || c.Target != (c.Commit == s.Target) {
					t.Errorf("commit %s: %d agents, target %v; want %d, %v", c.Commit, c.Agents, c.Target, tt.commits[c.Commit], c.Commit == s.Target)
				}
				if i > 0 && c.Commit == newCommit {
					t.Errorf("commits %+v: the newest not first", s.Commits)
				}
			}
		})
	}
}

// TestSummarizeRejection: the first diagnostic and how many more, or the error.
func TestSummarizeRejection(t *testing.T) {
	r := serving("a:9443", newCommit, t0, t0)
	r.Rejected = &reconcile.RejectedStatus{Commit: badCommit, Error: "commit 333 is unsigned"}
	s := Summarize([]Result{r}, "", t0)
	if got := s.Agents[0].Rejected; got == nil || got.Commit != badCommit || got.Diagnostic != "commit 333 is unsigned" || got.More != 0 {
		t.Errorf("rejection %+v; want the commit and its error", got)
	}
	r.Rejected.Errors = schema.Diagnostics{
		{File: "w.cue", Line: 1, Col: 1, Severity: schema.SeverityWarning, Message: "expires soon"},
		{File: "a.cue", Line: 1, Col: 2, Severity: schema.SeverityError, Message: "m"}}
	s = Summarize([]Result{r}, badCommit[:8], t0)
	if got := s.Agents[0].Rejected; got.Diagnostic != "a.cue:1:2: error: m" || got.More != 1 {
		t.Errorf("rejection %+v; want the first error and 1 more", got)
	}
	if s.Target != badCommit {
		t.Errorf("target %q; want the rejected commit the prefix names", s.Target)
	}
}
