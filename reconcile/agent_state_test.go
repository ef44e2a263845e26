package reconcile_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/tests/testenv"
)

// invalidAlpha is a site file for alpha that fails validation at line 6 ("upstream" is not
// a field).
const invalidAlpha = "package edge\n\nsites: alpha: {\n\thosts: [\"alpha.example.test\"]\n\tcert: \"certs/alpha.pem\"\n\troutes: \"/\": upstream: [\"http://127.0.0.1:1\"]\n}\n"

// stateEnv is an agentEnv whose repo is served by a real git HTTP server and whose agent
// keeps its accepted revision in a state dir.
type stateEnv struct {
	*agentEnv
	git   *testenv.GitHTTP
	state string
}

func newStateEnv(t *testing.T) *stateEnv {
	t.Helper()
	e := &stateEnv{state: filepath.Join(t.TempDir(), "state")}
	e.agentEnv = newAgentEnv(t) // (its agent, on the bare repo, is replaced below)
	e.git = testenv.StartGitHTTP(t, e.repo.Bare, nil)
	e.restart()
	return e
}

// restart replaces the agent and edge server by new ones with the same state dir, as a
// restarted process.
func (e *stateEnv) restart() {
	e.t.Helper()
	e.boot(gitsource.Options{URL: e.git.URL, StateDir: e.state})
}

// stepStatus runs one Step, which may fail (repo unreachable), and returns the status.
func (e *stateEnv) stepStatus() reconcile.Status {
	_ = e.agent.Step(context.Background())
	return e.agent.Status()
}

func (e *stateEnv) stateFile() []byte {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.state, gitsource.StateFileName))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// TestAgentRestartServesSavedRevision restarts the agent while HEAD is invalid, then while
// the repo is unreachable: each time it serves the commit it had accepted, says so and why,
// and moves on once the repo gives a valid commit.
func TestAgentRestartServesSavedRevision(t *testing.T) {
	e := newStateEnv(t)
	e.site("alpha", true, "")
	good := e.repo.Commit("alpha", nil)
	if st := e.step(); st.Serving.Commit != good || st.Serving.Persisted != nil {
		t.Fatalf("serving %+v; want %s, not persisted", st.Serving, good)
	}
	fi, err := os.Stat(filepath.Join(e.state, gitsource.StateFileName))
	if err != nil {
		t.Fatalf("state file after the first accepted commit: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v; want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(e.state); di.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v; want 0700", di.Mode().Perm())
	}
	if b := e.stateFile(); bytes.Contains(b, []byte("PRIVATE KEY")) {
		t.Error("state file holds a private key")
	}

	bad := e.repo.Commit("typo", map[string][]byte{"sites/alpha.cue": []byte(invalidAlpha)})
	readsBefore := e.keys.reads.Load()
	e.restart()
	st := e.step()
	e.mustServe("alpha")
	if st.Serving.Commit != good || st.Rejected == nil || st.Rejected.Commit != bad {
		t.Fatalf("after a restart with an invalid HEAD: serving %s, rejected %+v; want %s served, %s rejected", st.Serving.Commit, st.Rejected, good, bad)
	}
	want := "HEAD " + bad[:12] + " rejected: sites/alpha.cue:6:"
	if p := st.Serving.Persisted; p == nil || !strings.HasPrefix(p.Reason, want) {
		t.Errorf("persisted %+v; want the reason %q...", p, want)
	}
	if e.keys.reads.Load() == readsBefore {
		t.Error("the restarted agent served without reading the key from the key source")
	}
	if h := st.History; len(h) != 2 || h[0].Outcome != reconcile.PollRejected || h[0].Commit != bad ||
		h[1].Commit != good || !h[1].Restored || h[1].Outcome != reconcile.PollApplied || h[1].Added != 1 {
		t.Errorf("history after the restart %+v; want %s rejected after %s restored (1 site added)", h, bad, good)
	}
	// Later polls of the same bad HEAD keep it so.
	if st = e.step(); st.Serving.Commit != good || st.Serving.Persisted == nil {
		t.Errorf("second poll: serving %+v; want %s, persisted", st.Serving, good)
	}

	e.repo.Git("revert", "--no-edit", "HEAD")
	e.repo.Push()
	reverted := e.repo.Head()
	st = e.step()
	if st.Serving.Commit != reverted || st.Serving.Persisted != nil || st.Rejected != nil {
		t.Fatalf("after the revert: serving %+v rejected %+v; want %s, not persisted, nothing rejected", st.Serving, st.Rejected, reverted)
	}
	e.mustServe("alpha")

	// The state followed: a restart with the repo down serves the reverted commit.
	e.git.Stop()
	e.restart()
	st = e.stepStatus()
	e.mustServe("alpha")
	if st.Serving.Commit != reverted || st.Serving.Persisted == nil || !strings.HasPrefix(st.Serving.Persisted.Reason, "repo unreachable: ") {
		t.Fatalf("restart with the repo down: serving %+v; want %s persisted, repo unreachable", st.Serving, reverted)
	}
	if st.LastPoll.Outcome != "error" {
		t.Errorf("last poll %q; want error", st.LastPoll.Outcome)
	}
}

// TestAgentRestartSameHead restarts the agent on an unchanged repo: the saved revision is
// served, and the first poll confirms it with one request (the reference advertisement),
// fetching nothing; a commit after that is fetched as usual.
func TestAgentRestartSameHead(t *testing.T) {
	e := newStateEnv(t)
	e.site("alpha", true, "")
	c1 := e.repo.Commit("alpha", nil)
	e.step()

	e.restart()
	e.git.Reset()
	st := e.step()
	if st.Serving.Commit != c1 || st.Serving.Persisted != nil || st.LastPoll.Outcome != "unchanged" {
		t.Fatalf("restart on the same HEAD: serving %+v, poll %+v; want %s confirmed, unchanged", st.Serving, st.LastPoll, c1)
	}
	if n := e.git.Count(); n != 1 {
		t.Errorf("first poll after the restart made %d git requests; want 1:%s", n, requestsOf(e.git))
	}
	e.mustServe("alpha")

	e.site("beta", true, "")
	c2 := e.repo.Commit("beta", nil)
	if st = e.step(); st.Serving.Commit != c2 {
		t.Fatalf("serving %s; want %s", st.Serving.Commit, c2)
	}
	e.mustServe("beta")
	e.restart()
	if st = e.step(); st.Serving.Commit != c2 || st.Serving.Persisted != nil {
		t.Fatalf("after a second restart: serving %+v; want %s confirmed", st.Serving, c2)
	}
	e.mustServe("beta")
}

func requestsOf(g *testenv.GitHTTP) string {
	var b strings.Builder
	for _, r := range g.Requests() {
		b.WriteString("\n\t" + r.String())
	}
	return b.String()
}

// TestAgentStateDirDamaged starts agents on state files that cannot be used: each is
// ignored (logged, shown in status), the agent serves the repo's HEAD as if it had none,
// and the next accepted commit replaces the file.
func TestAgentStateDirDamaged(t *testing.T) {
	// A valid state file of another repo, and one of this test's shape to damage.
	other := newStateEnv(t)
	other.site("zeta", true, "")
	other.repo.Commit("zeta", nil)
	other.step()
	foreign := other.stateFile()

	for _, tc := range []struct {
		name    string
		damage  func(valid []byte) []byte
		wantErr string
	}{
		{"empty", func([]byte) []byte { return nil }, "not an edge state file"},
		{"garbage", func([]byte) []byte { return []byte("\x00\x01garbage\n") }, "not an edge state file"},
		{"bad header", func(v []byte) []byte { return []byte(strings.Replace(string(v), `{"source"`, `{"sauce"`, 1)) }, "header"},
		{"truncated", func(v []byte) []byte { return v[:len(v)*2/3] }, "pack"},
		{"flipped byte", func(v []byte) []byte {
			d := bytes.Clone(v)
			d[len(d)-200] ^= 0x40
			return d
		}, "pack"},
		{"header names another commit", func(v []byte) []byte {
			i := bytes.Index(v, []byte(`"hash":"`)) + len(`"hash":"`)
			d := bytes.Clone(v)
			if d[i] = '0'; v[i] == '0' { // a hash the pack does not hold
				d[i] = '1'
			}
			return d
		}, "not found"},
		{"another repo", func([]byte) []byte { return foreign }, "saved for "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newStateEnv(t)
			e.site("alpha", true, "")
			c1 := e.repo.Commit("alpha", nil)
			e.step()
			if err := os.WriteFile(filepath.Join(e.state, gitsource.StateFileName), tc.damage(e.stateFile()), 0o600); err != nil {
				t.Fatal(err)
			}
			// HEAD invalid: with the state ignored, nothing can be served.
			bad := e.repo.Commit("typo", map[string][]byte{"sites/alpha.cue": []byte(invalidAlpha)})
			e.restart()
			st := e.step()
			if st.Serving.Commit != "" || st.Rejected == nil || st.Rejected.Commit != bad {
				t.Errorf("serving %+v rejected %+v; want nothing served, %s rejected", st.Serving, st.Rejected, bad)
			}
			if !strings.Contains(st.StateError, tc.wantErr) {
				t.Errorf("state error %q; want it to mention %q", st.StateError, tc.wantErr)
			}
			e.mustRefuse("alpha")

			// A good commit is served and saved over the damaged file.
			e.repo.Git("revert", "--no-edit", "HEAD")
			e.repo.Push()
			if st = e.step(); st.Serving.Commit != e.repo.Head() || st.StateError != "" {
				t.Fatalf("after the revert: serving %s, state error %q; want %s, none", st.Serving.Commit, st.StateError, e.repo.Head())
			}
			e.restart()
			if st = e.step(); st.Serving.Commit == "" || st.Serving.Commit == c1 || st.StateError != "" {
				t.Errorf("after restarting on the rewritten state: serving %s, state error %q", st.Serving.Commit, st.StateError)
			}
			e.mustServe("alpha")
		})
	}
}

// TestAgentStateDirUnwritable: a state dir that cannot be created costs the restart
// protection only (status says so), never serving.
func TestAgentStateDirUnwritable(t *testing.T) {
	e := newStateEnv(t)
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.state = filepath.Join(file, "state") // below a regular file: mkdir fails, even as root
	e.restart()
	e.site("alpha", true, "")
	c1 := e.repo.Commit("alpha", nil)
	st := e.step()
	if st.Serving.Commit != c1 || !strings.Contains(st.StateError, "not a directory") {
		t.Fatalf("serving %s, state error %q; want %s served, the save failure shown", st.Serving.Commit, st.StateError, c1)
	}
	e.mustServe("alpha")
}

// TestAgentStateCrashLeftovers: a temporary file a crash left half-written beside the state
// file does not stop the restore, and is removed.
func TestAgentStateCrashLeftovers(t *testing.T) {
	e := newStateEnv(t)
	e.site("alpha", true, "")
	c1 := e.repo.Commit("alpha", nil)
	e.step()
	valid := e.stateFile()
	tmp := filepath.Join(e.state, "."+gitsource.StateFileName+"-123456")
	if err := os.WriteFile(tmp, valid[:len(valid)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	e.git.Stop()
	e.restart()
	st := e.stepStatus()
	if st.Serving.Commit != c1 || st.Serving.Persisted == nil || st.StateError != "" {
		t.Fatalf("serving %+v, state error %q; want %s persisted", st.Serving, st.StateError, c1)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("leftover temporary file: %v; want removed", err)
	}
	e.mustServe("alpha")
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestRestoreChecksSignatures: with a signature policy, the saved commit is checked again
// on restore: a state saved before the policy was set (an unsigned commit) is not served,
// a signed one is, with its signer.
func TestRestoreChecksSignatures(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	key, pub := testenv.NewPGPKey(t, "Release Manager")
	pol, err := gitsource.NewSignaturePolicy(pub)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	save := func(p *gitsource.SignaturePolicy) string {
		t.Helper()
		src, err := gitsource.New(gitsource.Options{URL: repo.Bare, StateDir: state, Signatures: p, Logger: quietLog})
		if err != nil {
			t.Fatal(err)
		}
		rev, _, err := src.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := src.SaveAccepted(rev); err != nil {
			t.Fatal(err)
		}
		return rev.Commit
	}
	restore := func() (*gitsource.Revision, error) {
		src, err := gitsource.New(gitsource.Options{URL: repo.Bare, StateDir: state, Signatures: pol, Logger: quietLog})
		if err != nil {
			t.Fatal(err)
		}
		return src.RestoreAccepted(context.Background())
	}

	repo.CommitStrings("unsigned", map[string]string{"sites/a.cue": "package edge\n"})
	save(nil)
	if rev, err := restore(); rev != nil || err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("unsigned saved commit restored under a signature policy: %v, %v; want a signature error", rev, err)
	}

	signed := repo.CommitSigned(key, "signed", map[string][]byte{"sites/b.cue": []byte("package edge\n")})
	if got := save(pol); got != signed {
		t.Fatalf("saved %s; want %s", got, signed)
	}
	rev, err := restore()
	if err != nil || rev == nil || rev.Commit != signed || !strings.Contains(rev.Signer, "Release Manager") {
		t.Errorf("restored %+v, %v; want %s signed by Release Manager", rev, err, signed)
	}
}
