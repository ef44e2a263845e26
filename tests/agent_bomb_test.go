package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// bomb is a commit shape that must be refused without taking the agent down: lines put
// inside the declaration of a new site, "bomb", whose other fields are valid.
type bomb struct {
	name  string
	lines func() []string
}

// bombs are the config bombs of issue 9, and an invalid but ordinary file beside them.
// Each row runs on its own agent, so one can be run alone: go test -run 'TestAgentBomb/ordinary'.
var bombs = []bomb{
	{"ordinary", func() []string { return []string{"bogus_field: 1"} }},
	// 2^34 bytes by doubling a string 34 times.
	{"string-doubling", func() []string { return doubling(34, "_s%d: _s%d + _s%d") }},
	// The same with interpolation: no operator at all.
	{"interpolation-doubling", func() []string { return doubling(34, `_s%d: "\(_s%d)\(_s%d)"`) }},
	// 2^26 combinations: the unification of 26 two-way disjunctions of structs.
	{"disjunction-product", func() []string {
		var lines, refs []string
		for i := 1; i <= 26; i++ {
			lines = append(lines, fmt.Sprintf("_d%d: {x%d: 1} | {y%d: 1}", i, i, i))
			refs = append(refs, fmt.Sprintf("_d%d", i))
		}
		return append(lines, "_p: "+strings.Join(refs, " & "))
	}},
}

// doubling returns `_s0: "x"` and n lines defining _sN from two copies of _s(N-1).
func doubling(n int, format string) []string {
	lines := []string{`_s0: "x"`}
	for i := 1; i <= n; i++ {
		lines = append(lines, fmt.Sprintf(format, i, i-1, i-1))
	}
	return lines
}

// bombPollInterval is the agent's poll interval in these tests.
const bombPollInterval = time.Second

// bombAddressSpace caps the agent's address space (prlimit --as) in these tests, as a
// backstop: an agent without bounded evaluation then dies (and the test fails) instead of
// taking the machine's memory. Far above what a 10,000-site agent needs.
const bombAddressSpace = 3 << 30

// bombWrap runs the agent under prlimit when the machine has it (util-linux).
func bombWrap(t *testing.T) []string {
	path, err := exec.LookPath("prlimit")
	if err != nil {
		t.Logf("prlimit not found: the agent runs without an address-space limit")
		return nil
	}
	return []string{path, fmt.Sprintf("--as=%d", bombAddressSpace), "--"}
}

// TestAgentBomb is issue 9's "Done means" through the binary: an agent serving a repo gets
// each bomb commit in turn; it stays up, the old sites keep answering 200 throughout, its
// status shows the rejection with file:line:col within two polls, and a revert clears it.
// Then the same with the agent restarted while the bomb is HEAD: it serves the commit it
// had accepted, from its state dir.
func TestAgentBomb(t *testing.T) {
	for _, b := range bombs {
		t.Run(b.name, func(t *testing.T) { testAgentBomb(t, b) })
	}
}

func testAgentBomb(t *testing.T, b bomb) {
	d := newDirRepo(t)
	d.write("alpha")
	good := d.add("beta")
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"--repo", d.git.URL, "--interval", bombPollInterval.String(), "--key-dir", d.keyDir, "--state-dir", state}
	wrap := bombWrap(t)
	p := startAgentProcWrapped(t, d.ca, nil, wrap, args...)
	p.waitFor("alpha and beta served", 30*time.Second, func() bool { return p.serves("alpha.example.test") && p.serves("beta.example.test") })
	if st := p.status(); st.Serving.Commit != good {
		t.Fatalf("serving %s; want %s", st.Serving.Commit, good)
	}

	// The bomb site's certificate and key are valid: only the lines added are at fault.
	d.write("bomb")
	siteFile := filepath.Join(d.repo.Dir, "sites", "bomb.cue")
	valid, err := os.ReadFile(siteFile)
	if err != nil {
		t.Fatal(err)
	}
	bombFile := insertInDecl(t, string(valid), b.lines())

	// 1. The running agent gets the bomb.
	{
		load := startLoad(t, p)
		polls := p.pollCount()
		bad := d.repo.CommitStrings("bomb: "+b.name, map[string]string{"sites/bomb.cue": bombFile})
		p.waitRejected(bad, polls)
		if st := p.status(); st.Serving.Commit != good {
			t.Errorf("serving %s while the bomb is HEAD; want still %s", st.Serving.Commit, good)
		}
		reverted := revert(p, d)
		load.check()
		if st := p.status(); st.Serving.Commit != reverted {
			t.Errorf("serving %s after the revert; want %s", st.Serving.Commit, reverted)
		}
	}

	// 2. The agent restarted while the bomb is HEAD.
	{
		accepted := p.status().Serving.Commit
		bad := d.repo.CommitStrings("bomb again: "+b.name, map[string]string{"sites/bomb.cue": bombFile})
		p.waitRejected(bad, p.pollCount())
		p.stop()

		p = startAgentProcWrapped(t, d.ca, nil, wrap, args...) // returns once /readyz answers
		load := startLoad(t, p)
		p.waitRejected(bad, 0)
		st := p.status()
		if st.Serving.Commit != accepted || st.Serving.Persisted == nil || !strings.Contains(st.Serving.Persisted.Reason, "sites/bomb.cue:") {
			t.Errorf("serving %+v; want %s from the state dir, because of sites/bomb.cue", st.Serving, accepted)
		}
		revert(p, d)
		load.check()
		if st := p.status(); st.Serving.Persisted != nil {
			t.Errorf("persisted %+v after the revert; want nil", st.Serving.Persisted)
		}
	}
	p.alive()
}

// insertInDecl inserts lines at the end of the site declaration of a sitegen site file
// (before its last closing brace).
func insertInDecl(t *testing.T, file string, lines []string) string {
	t.Helper()
	i := strings.LastIndex(file, "}")
	if i < 0 {
		t.Fatalf("site file without a closing brace:\n%s", file)
	}
	return file[:i] + "\t" + strings.Join(lines, "\n\t") + "\n" + file[i:]
}

// waitRejected waits until the status shows commit rejected with a file:line:col in
// sites/bomb.cue, and checks that it took at most two polls after polls (the count of
// polls before the commit was pushed; one more is allowed for the time between a poll and
// this check seeing it). It fails the test if the agent exits meanwhile.
func (p *agentProc) waitRejected(commit string, polls float64) {
	p.t.Helper()
	var seenAt float64
	p.waitFor("rejection of "+commit, 5*time.Minute, func() bool {
		r := p.status().Rejected
		if r == nil || r.Commit != commit {
			return false
		}
		seenAt = p.pollCount()
		return true
	})
	if seenAt-polls > 3 {
		p.t.Errorf("rejection shown after %v polls; want at most 2 (+1 for this check's lag)", seenAt-polls)
	}
	r := p.status().Rejected
	if len(r.Errors) == 0 {
		p.t.Fatalf("rejection without a diagnostic: %+v", r)
	}
	if dg := r.Errors[0]; dg.File != "sites/bomb.cue" || dg.Line == 0 || dg.Col == 0 {
		p.t.Errorf("diagnostic %s; want sites/bomb.cue:line:col", dg)
	}
	p.alive()
}

// revert reverts HEAD, waits until the agent serves the revert with nothing rejected, and
// returns the commit.
func revert(p *agentProc, d *dirRepo) string {
	p.t.Helper()
	d.repo.Git("revert", "--no-edit", "HEAD")
	d.repo.Push()
	c := d.repo.Head()
	p.waitFor("revert served", 5*time.Minute, func() bool {
		st := p.status()
		return st.Serving.Commit == c && st.Rejected == nil
	})
	return c
}

// pollCount is the number of polls the agent has finished, whatever their outcome.
func (p *agentProc) pollCount() float64 {
	p.t.Helper()
	var n float64
	for _, o := range []string{"applied", "unchanged", "partial", "rejected", "error"} {
		n += p.counter(`edge_agent_polls_total{outcome="` + o + `"}`)
	}
	return n
}

// load is a client requesting the old sites in a loop until check; every answer must be a
// 200 from the backend.
type load struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	requests int
	failures []string
}

// loadMaxRequests bounds a load's requests (each is a new TLS connection).
const loadMaxRequests = 20000

func startLoad(t *testing.T, p *agentProc) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{t: t, cancel: cancel, done: make(chan struct{})}
	t.Cleanup(cancel)
	go func() {
		defer close(l.done)
		hosts := []string{"alpha.example.test", "beta.example.test"}
		for i := 0; i < loadMaxRequests && ctx.Err() == nil; i++ {
			h := hosts[i%len(hosts)]
			code, body, _, err := p.get(h)
			l.mu.Lock()
			l.requests++
			if err != nil || code != 200 || !strings.Contains(body, h) {
				l.failures = append(l.failures, fmt.Sprintf("%s: %d %q %v", h, code, body, err))
			}
			l.mu.Unlock()
			select { // a steady client, not a CPU hog beside the agent's evaluation
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return l
}

// check stops the load and fails the test if a request failed or none was made.
func (l *load) check() {
	l.t.Helper()
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Logf("%d requests to the old sites meanwhile, %d failed", l.requests, len(l.failures))
	if l.requests == 0 {
		l.t.Error("no request made to the old sites")
	}
	for i, f := range l.failures {
		if i == 5 {
			l.t.Errorf("... and %d more failures", len(l.failures)-5)
			break
		}
		l.t.Errorf("old site failed: %s", f)
	}
}
