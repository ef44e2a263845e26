package tests

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
	"github.com/edgectl/edge/tests/testenv"
)

// The tests of this file drive the agent binary through the life of a config repo: a real
// git smart-HTTP server, a real Vault with AppRole, and real TLS clients. Each starts its own
// (agentE2E) and checks one thing.

// agentE2E is the agent binary serving sites alpha (latest key) and beta (key pinned to
// version 1) of a config repo on a git server, with their keys in Vault read through AppRole.
type agentE2E struct {
	*agentProc
	t          *testing.T
	ca         *testca.CA
	vault      *testenv.Vault
	policy     string
	roleID     string
	secretFile string // the AppRole secret_id the agent reads at each login
	backend    *httptest.Server
	repo       *testenv.GitRepo
	git        *testenv.GitHTTP
	keys       map[string][]byte // every key written to Vault, to re-seed it after a restart
}

func startAgentE2E(t *testing.T) *agentE2E {
	t.Helper()
	e := &agentE2E{t: t, vault: testenv.StartVault(t), keys: map[string][]byte{}}
	policy, err := os.ReadFile("../examples/vault/edge-policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	e.policy = string(policy)
	e.vault.WritePolicy(t, "edge", e.policy)
	e.vault.EnableAppRole(t)
	var secretID string
	e.roleID, secretID = e.vault.CreateAppRole(t, "edge", []string{"edge"}, map[string]any{"token_ttl": "1h"})
	e.secretFile = filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(e.secretFile, []byte(secretID), 0o600); err != nil {
		t.Fatal(err)
	}
	e.backend = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.Host)
	}))
	t.Cleanup(e.backend.Close)
	if e.ca, err = testca.New(); err != nil {
		t.Fatal(err)
	}
	e.repo = testenv.NewGitRepo(t)
	e.git = testenv.StartGitHTTP(t, e.repo.Bare, nil)
	e.addSite("alpha", 0, true)
	e.addSite("beta", 1, true)
	e.repo.Commit("alpha and beta", nil)

	e.agentProc = startAgentProc(t, e.ca, nil, "--repo", e.git.URL, "--interval", "300ms", "--keys", "vault",
		"--vault-addr", e.vault.Addr, "--vault-role-id", e.roleID, "--vault-secret-id-file", e.secretFile)
	t.Cleanup(func() {
		if strings.Contains(e.out.String(), "PRIVATE KEY") {
			t.Error("agent output contains private key material")
		}
	})
	for _, h := range []string{"alpha.example.test", "beta.example.test"} {
		if !e.serves(h) {
			t.Fatalf("%s not served after start", h)
		}
	}
	return e
}

// addSite writes site name with a new certificate, its key pinned to version (0: latest);
// seed writes the key to Vault.
func (e *agentE2E) addSite(name string, version int, seed bool) *sitegen.Generated {
	e.t.Helper()
	s := sitegen.Site{Name: name, Hosts: []string{name + ".example.test"}, Upstreams: []string{e.backend.URL},
		Key: schema.KeyRef{Mount: "secret", Path: "edge/" + name, Field: "key", Version: version}}
	g, err := sitegen.WriteSite(e.repo.Dir, s, sitegen.Options{CA: e.ca})
	if err != nil {
		e.t.Fatal(err)
	}
	if seed {
		e.keys[name] = g.Leaf.KeyPEM
		e.vault.PutKV(e.t, "secret", "edge/"+name, map[string]any{"key": string(g.Leaf.KeyPEM)})
	}
	return g
}

// addServedSite adds site name with its key in Vault, commits, and waits until it is
// served; it returns the commit.
func (e *agentE2E) addServedSite(name string) string {
	e.t.Helper()
	e.addSite(name, 0, true)
	c := e.repo.Commit("add "+name, nil)
	e.waitFor(name+" served", 20*time.Second, func() bool { return e.serves(name + ".example.test") })
	return c
}

func TestAgentIdlePollsCostOneRequest(t *testing.T) {
	e := startAgentE2E(t)
	const unchanged = `edge_agent_polls_total{outcome="unchanged"}`
	reads := e.metric("edge_agent_key_reads_total")
	e.git.Reset()
	polls0 := e.counter(unchanged)
	before := e.status().LastPoll.At
	e.waitFor("five polls", 20*time.Second, func() bool { return e.counter(unchanged) >= polls0+5 })
	// A poll may be between its request and its end at either reading: allow one.
	reqs, polls := e.git.Count(), int(e.counter(unchanged)-polls0)
	t.Logf("idle polls: %d git requests for %d polls", reqs, polls)
	if reqs < polls-1 || reqs > polls+1 {
		t.Errorf("%d git requests for %d idle polls; want one each", reqs, polls)
	}
	st := e.status()
	if st.LastPoll.Outcome != reconcile.PollUnchanged || !st.LastPoll.At.After(before) {
		t.Errorf("last poll %+v; want unchanged", st.LastPoll)
	}
	if n := e.metric("edge_agent_key_reads_total"); n != reads {
		t.Errorf("vault reads during idle polls: %v; want 0", n-reads)
	}
	for _, r := range e.git.Requests() {
		if !strings.Contains(r.String(), "info/refs") {
			t.Errorf("idle poll made request %s; want only the ref advertisement", r)
		}
	}
}

func TestAgentServesSiteAddedByCommit(t *testing.T) {
	e := startAgentE2E(t)
	e.addSite("gamma", 0, true)
	c := e.repo.Commit("add gamma", nil)
	d := e.waitFor("gamma served", 20*time.Second, func() bool { return e.serves("gamma.example.test") })
	t.Logf("commit-to-served: %v (poll interval 300ms)", d)
	if st := e.status(); st.Serving.Commit != c {
		t.Errorf("serving %s; want %s", st.Serving.Commit, c)
	}
	// The same fact in the metrics.
	if v, ok := e.series(`edge_agent_serving_info{commit="` + c + `"}`); !ok || v != 1 {
		t.Errorf("edge_agent_serving_info for %s: %v, %v; want 1", c, v, ok)
	}
}

func TestAgentRejectsInvalidCommitAndKeepsServing(t *testing.T) {
	e := startAgentE2E(t)
	e.addServedSite("gamma")
	good := e.status().Serving.Commit
	bad := e.repo.CommitStrings("broken", map[string]string{"sites/gamma.cue": "package edge\n\nsites: gamma: {\n\thosts: [\"gamma.example.test\"]\n\tcert: \"certs/gamma.pem\"\n\tkey: path: \"edge/gamma\"\n\troutes: \"/\": upstreams: [\"ftp://127.0.0.1:21\"]\n}\n"})
	e.waitFor("rejection", 20*time.Second, func() bool { r := e.status().Rejected; return r != nil && r.Commit == bad })
	st := e.status()
	d := st.Rejected.Errors[0]
	if d.File != "sites/gamma.cue" || d.Line != 7 || d.Col == 0 {
		t.Errorf("diagnostic %s; want sites/gamma.cue:7:col", d)
	}
	if st.Serving.Commit != good || !e.serves("gamma.example.test") {
		t.Errorf("serving %s; want still %s with gamma served", st.Serving.Commit, good)
	}
	if v := e.metric("edge_agent_revision_rejected"); v != 1 {
		t.Errorf("edge_agent_revision_rejected = %v while %s is rejected; want 1", v, bad)
	}
	out, err := exec.Command(edgectl(t), "status", "--admin", e.admin).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("edgectl status: %v; want exit 1 while a revision is rejected", err)
	}
	if !strings.Contains(string(out), "REJECTED") || !strings.Contains(string(out), "sites/gamma.cue:7:") {
		t.Errorf("edgectl status output lacks the rejection and its position:\n%s", out)
	}
	e.repo.Git("revert", "--no-edit", "HEAD")
	e.repo.Push()
	e.waitFor("recovery", 20*time.Second, func() bool { return e.status().Rejected == nil })
}

func TestAgentRotatesKeyByPinningNewVersion(t *testing.T) {
	e := startAgentE2E(t)
	_, _, oldSerial, err := e.get("beta.example.test")
	if err != nil {
		t.Fatal(err)
	}
	g := e.addSite("beta", 2, false)
	e.keys["beta"] = g.Leaf.KeyPEM
	if v := e.vault.PutKV(t, "secret", "edge/beta", map[string]any{"key": string(g.Leaf.KeyPEM)}); v != 2 {
		t.Fatalf("new KV version %d; want 2", v)
	}
	e.repo.Commit("rotate beta to key v2", nil)
	want := g.Leaf.Cert.SerialNumber.String()
	e.waitFor("new beta certificate", 20*time.Second, func() bool { _, _, s, err := e.get("beta.example.test"); return err == nil && s == want })
	if want == oldSerial {
		t.Fatal("test bug: the certificate did not change")
	}
	if s := e.status(); siteNamed(s, "beta").KeyVersion != 2 {
		t.Errorf("beta key version %d; want 2", siteNamed(s, "beta").KeyVersion)
	}
}

func TestAgentVaultDownNewSiteWaits(t *testing.T) {
	e := startAgentE2E(t)
	e.addServedSite("gamma")
	e.vault.Stop()
	delta := e.addSite("delta", 0, false)
	c := e.repo.Commit("add delta while vault is down", nil)
	e.waitFor("delta reported failed", 20*time.Second, func() bool {
		st := e.status()
		return st.Serving.Commit == c && siteNamed(st, "delta").State == reconcile.SiteFailed
	})
	for _, h := range []string{"alpha.example.test", "beta.example.test", "gamma.example.test"} {
		if !e.serves(h) {
			t.Errorf("%s not served while vault is down", h)
		}
	}
	if _, _, _, err := e.get("delta.example.test"); err == nil {
		t.Error("delta served without its key")
	}

	// A dev server comes back empty: seed it as an operator would, with the same role_id
	// and a new secret_id in the file the agent reads at each login.
	e.vault.Restart(t)
	e.vault.WritePolicy(t, "edge", e.policy)
	e.vault.EnableAppRole(t)
	_, secretID2 := e.vault.CreateAppRole(t, "edge", []string{"edge"}, map[string]any{"token_ttl": "1h"})
	if _, err := e.vault.Client.Logical().Write("auth/approle/role/edge/role-id", map[string]any{"role_id": e.roleID}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.secretFile, []byte(secretID2), 0o600); err != nil {
		t.Fatal(err)
	}
	e.keys["delta"] = delta.Leaf.KeyPEM
	for _, name := range []string{"alpha", "beta", "gamma", "delta"} {
		e.vault.PutKV(t, "secret", "edge/"+name, map[string]any{"key": string(e.keys[name])}) // beta: v1, as pinned
	}
	d := e.waitFor("delta served after vault returned", 60*time.Second, func() bool { return e.serves("delta.example.test") })
	t.Logf("recovered %v after vault came back", d)
	if st := siteNamed(e.status(), "delta"); st.State != reconcile.SiteServing {
		t.Errorf("delta %+v; want serving", st)
	}
}

func TestAgentFollowsForcePush(t *testing.T) {
	e := startAgentE2E(t)
	before := e.addServedSite("delta")
	c := e.repo.Rewrite("HEAD~1", "history rewritten without delta", nil)
	e.waitFor("rewritten commit served", 20*time.Second, func() bool { return e.status().Serving.Commit == c })
	if c == before {
		t.Fatal("test bug: rewrite produced the same commit")
	}
	if siteNamed(e.status(), "delta").State != "" {
		t.Errorf("delta still in status after the force-push removed it")
	}
	// Removed from the config, so gone from the listener: its name no longer completes a
	// TLS handshake (no default site here), while the others still do.
	if _, _, _, err := e.get("delta.example.test"); err == nil {
		t.Error("delta still served after the commit that added it was rewritten away")
	}
	if !e.serves("alpha.example.test") {
		t.Error("alpha not served after the force-push")
	}
}

func TestAgentSIGTERMDrainsAndExits(t *testing.T) {
	e := startAgentE2E(t)
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("agent did not exit within 15s of SIGTERM")
	}
	if e.waitResult != nil {
		t.Errorf("exit: %v; want 0", e.waitResult)
	}
	if strings.Contains(e.out.String(), "PRIVATE KEY") {
		t.Error("agent output contains private key material")
	}
}
