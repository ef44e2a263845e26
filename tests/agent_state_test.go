package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// invalidBeta is a site file for beta refused at line 7 (an upstream must be http or https).
const invalidBeta = "package edge\n\nsites: beta: {\n\thosts: [\"beta.example.test\"]\n\tcert: \"certs/beta.pem\"\n\tkey: path: \"edge/beta\"\n\troutes: \"/\": upstreams: [\"ftp://127.0.0.1:21\"]\n}\n"

// TestAgentRestartServesPersisted runs the agent binary with a state dir against a real git
// server and a key directory: restarted while HEAD is invalid, it serves the commit it had
// accepted, says so with the rejection's file:line:col, and moves on after a revert.
func TestAgentRestartServesPersisted(t *testing.T) {
	d := newDirRepo(t)
	d.write("alpha")
	good := d.add("beta")
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"--repo", d.git.URL, "--interval", "300ms", "--key-dir", d.keyDir, "--state-dir", state}
	p := startAgentProc(t, d.ca, nil, args...)
	p.waitFor("alpha and beta served", 20*time.Second, func() bool { return p.serves("alpha.example.test") && p.serves("beta.example.test") })
	if st := p.status(); st.Serving.Commit != good {
		t.Fatalf("serving %s; want %s", st.Serving.Commit, good)
	}

	bad := d.repo.CommitStrings("beta: ftp upstream", map[string]string{"sites/beta.cue": invalidBeta})
	p.waitFor("rejection", 20*time.Second, func() bool { r := p.status().Rejected; return r != nil && r.Commit == bad })
	p.stop()

	start := time.Now()
	p = startAgentProc(t, d.ca, nil, args...) // returns once /readyz answers 200
	for _, h := range []string{"alpha.example.test", "beta.example.test"} {
		if !p.serves(h) {
			t.Fatalf("%s not served right after the restart", h)
		}
	}
	t.Logf("restart to serving the persisted commit: %v (process start to both sites answering)", time.Since(start).Round(time.Millisecond))
	p.waitFor("rejection after the restart", 20*time.Second, func() bool { r := p.status().Rejected; return r != nil && r.Commit == bad })
	st := p.status()
	if st.Serving.Commit != good || st.Serving.Persisted == nil {
		t.Fatalf("serving %+v; want %s from the state dir", st.Serving, good)
	}
	if dg := st.Rejected.Errors[0]; dg.File != "sites/beta.cue" || dg.Line != 7 || dg.Col == 0 {
		t.Errorf("diagnostic %s; want sites/beta.cue:7:col", dg)
	}
	if want := "HEAD " + bad[:12] + " rejected: sites/beta.cue:7:"; !strings.HasPrefix(st.Serving.Persisted.Reason, want) {
		t.Errorf("persisted reason %q; want %q...", st.Serving.Persisted.Reason, want)
	}
	if v := p.metric("edge_agent_serving_persisted"); v != 1 {
		t.Errorf("edge_agent_serving_persisted = %v; want 1", v)
	}
	out, _ := exec.Command(edgectl(t), "status", "--admin", p.admin).CombinedOutput()
	for _, want := range []string{"persisted serving commit " + good[:12] + " from the state dir: HEAD " + bad[:12] + " rejected: sites/beta.cue:7:", "REJECTED"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("edgectl status lacks %q:\n%s", want, out)
		}
	}

	d.repo.Git("revert", "--no-edit", "HEAD")
	d.repo.Push()
	reverted := d.repo.Head()
	p.waitFor("revert served", 20*time.Second, func() bool { return p.status().Serving.Commit == reverted })
	st = p.status()
	if st.Rejected != nil || st.Serving.Persisted != nil {
		t.Errorf("after the revert: rejected %+v, persisted %+v; want neither", st.Rejected, st.Serving.Persisted)
	}
	if v := p.metric("edge_agent_serving_persisted"); v != 0 {
		t.Errorf("edge_agent_serving_persisted = %v after the revert; want 0", v)
	}
	if !p.serves("beta.example.test") {
		t.Error("beta not served after the revert")
	}
	// Saved just after the swap: the state follows.
	p.waitFor("state file naming the reverted commit", 20*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(state, "accepted-revision"))
		return strings.Contains(string(b), reverted)
	})
}

// TestAgentStateDirUnusable starts the agent binary with a damaged state file and with a
// state dir it cannot create: it serves the repo as it would without one, and status says
// what went wrong with the state dir.
func TestAgentStateDirUnusable(t *testing.T) {
	d := newDirRepo(t)
	c := d.add("alpha")
	damaged := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(damaged, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(damaged, "accepted-revision"), []byte("edge-accepted-revision v1\n{}\nPACK\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("damaged file", func(t *testing.T) {
		p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--interval", "300ms", "--key-dir", d.keyDir, "--state-dir", damaged)
		p.waitFor("alpha served", 20*time.Second, func() bool { return p.serves("alpha.example.test") })
		if !strings.Contains(p.out.String(), "saved revision ignored") {
			t.Errorf("agent log does not say the damaged state was ignored:\n%s", p.out.String())
		}
		// Replaced by the commit accepted.
		p.waitFor("state file rewritten", 20*time.Second, func() bool {
			b, _ := os.ReadFile(filepath.Join(damaged, "accepted-revision"))
			return strings.Contains(string(b), c)
		})
		// The status is updated just after the file is renamed into place.
		p.waitFor("no state error once the state was saved", 20*time.Second, func() bool { return p.status().StateError == "" })
	})
	t.Run("cannot be created", func(t *testing.T) {
		p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--interval", "300ms", "--key-dir", d.keyDir, "--state-dir", filepath.Join(file, "state"))
		p.waitFor("alpha served", 20*time.Second, func() bool { return p.serves("alpha.example.test") })
		if st := p.status(); st.Serving.Commit != c || !strings.Contains(st.StateError, "not a directory") {
			t.Errorf("serving %s, state error %q; want %s, the save failure", st.Serving.Commit, st.StateError, c)
		}
		out, _ := exec.Command(edgectl(t), "status", "--admin", p.admin).CombinedOutput()
		if !strings.Contains(string(out), "state dir") || !strings.Contains(string(out), "not a directory") {
			t.Errorf("edgectl status does not show the state dir problem:\n%s", out)
		}
	})
}
