package tests

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	"github.com/edgectl/edge/tests/testenv"
)

// agentProc is the edgectl agent binary running as a subprocess.
type agentProc struct {
	t          *testing.T
	cmd        *exec.Cmd
	https      string
	admin      string
	ca         *sitegen.CA
	out        *testenv.SyncBuffer
	exited     chan struct{}
	waitResult error
}

func startAgentProc(t *testing.T, ca *sitegen.CA, env []string, args ...string) *agentProc {
	t.Helper()
	return startAgentProcWrapped(t, ca, env, nil, args...)
}

// startAgentProcWrapped is startAgentProc with the agent run by the command wrap (e.g.
// prlimit with its flags, ending in "--"), which must exec it in its place.
func startAgentProcWrapped(t *testing.T, ca *sitegen.CA, env, wrap []string, args ...string) *agentProc {
	t.Helper()
	p := &agentProc{t: t, https: freeAddr(t), admin: freeAddr(t), ca: ca, out: &testenv.SyncBuffer{}, exited: make(chan struct{})}
	// A state dir of its own, unless args name one (the last --state-dir given wins): never
	// the default under /var/lib/edge.
	args = append([]string{"agent", "--listen", p.https, "--http-listen", "off", "--admin", p.admin, "--access-log", "off",
		"--state-dir", filepath.Join(t.TempDir(), "state")}, args...)
	argv := append(append(wrap[:len(wrap):len(wrap)], edgectl(t)), args...)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitResult = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("agent output:\n%s", p.out.String())
		}
	})
	p.waitFor("ready", 60*time.Second, func() bool {
		resp, err := http.Get("http://" + p.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

// stop sends SIGTERM and waits for the agent to exit.
func (p *agentProc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.t.Fatal("agent did not exit within 30s of SIGTERM")
	}
}

// alive fails the test if the agent has exited.
func (p *agentProc) alive() {
	p.t.Helper()
	select {
	case <-p.exited:
		p.t.Fatalf("agent exited (%v)\n%s", p.waitResult, p.out.String())
	default:
	}
}

// waitFor polls cond every 50ms until it holds or the deadline passes.
func (p *agentProc) waitFor(what string, d time.Duration, cond func() bool) time.Duration {
	p.t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		select {
		case <-p.exited:
			p.t.Fatalf("agent exited (%v) while waiting for %s\n%s", p.waitResult, what, p.out.String())
		default:
		}
		if cond() {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("timed out after %v waiting for %s", d, what)
	return 0
}

func (p *agentProc) status() reconcile.Status {
	p.t.Helper()
	resp, err := http.Get("http://" + p.admin + "/status")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st reconcile.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		p.t.Fatal(err)
	}
	return st
}

// get fetches https://<host>/ over HTTP/2 and returns status, body and the served
// certificate's serial; err is set when the handshake or request fails.
func (p *agentProc) get(host string) (code int, body, serial string, err error) {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.ca.Pool(), ServerName: host},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", p.https)
		},
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + host + "/")
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 {
		return 0, "", "", fmt.Errorf("protocol %s; want HTTP/2", resp.Proto)
	}
	return resp.StatusCode, string(b), resp.TLS.PeerCertificates[0].SerialNumber.String(), nil
}

func (p *agentProc) serves(host string) bool {
	code, body, _, err := p.get(host)
	return err == nil && code == 200 && strings.Contains(body, host)
}

// TestAgentEndToEnd drives the agent binary through the life of a config repo: a real git
// smart-HTTP server, a real Vault with AppRole, and real TLS clients.
func TestAgentEndToEnd(t *testing.T) {
	vault := testenv.StartVault(t)
	policy, err := os.ReadFile("../examples/vault/edge-policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	vault.WritePolicy(t, "edge", string(policy))
	vault.EnableAppRole(t)
	roleID, secretID := vault.CreateAppRole(t, "edge", []string{"edge"}, map[string]any{"token_ttl": "1h"})
	secretFile := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(secretFile, []byte(secretID), 0o600); err != nil {
		t.Fatal(err)
	}

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.Host)
	}))
	defer backend.Close()
	ca, err := sitegen.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	repo := testenv.NewGitRepo(t)
	git := testenv.StartGitHTTP(t, repo.Bare, nil)

	keys := map[string][]byte{} // every key written to Vault, to re-seed it after a restart
	addSite := func(name string, version int, seed bool) *sitegen.Generated {
		t.Helper()
		s := sitegen.Site{Name: name, Hosts: []string{name + ".example.test"}, Upstreams: []string{backend.URL},
			Key: schema.KeyRef{Mount: "secret", Path: "edge/" + name, Field: "key", Version: version}}
		g, err := sitegen.WriteSite(repo.Dir, s, sitegen.Options{CA: ca})
		if err != nil {
			t.Fatal(err)
		}
		if seed {
			keys[name] = g.Leaf.KeyPEM
			vault.PutKV(t, "secret", "edge/"+name, map[string]any{"key": string(g.Leaf.KeyPEM)})
		}
		return g
	}
	addSite("alpha", 0, true)
	addSite("beta", 1, true)
	repo.Commit("alpha and beta", nil)

	p := startAgentProc(t, ca, nil, "--repo", git.URL, "--interval", "300ms", "--keys", "vault",
		"--vault-addr", vault.Addr, "--vault-role-id", roleID, "--vault-secret-id-file", secretFile)
	for _, h := range []string{"alpha.example.test", "beta.example.test"} {
		if !p.serves(h) {
			t.Fatalf("%s not served after start", h)
		}
	}

	t.Run("idle polls cost one git request and no Vault read", func(t *testing.T) {
		const unchanged = `edge_agent_polls_total{outcome="unchanged"}`
		reads := p.metric("edge_agent_key_reads_total")
		git.Reset()
		polls0 := p.counter(unchanged)
		before := p.status().LastPoll.At
		p.waitFor("five polls", 20*time.Second, func() bool { return p.counter(unchanged) >= polls0+5 })
		// A poll may be between its request and its end at either reading: allow one.
		reqs, polls := git.Count(), int(p.counter(unchanged)-polls0)
		t.Logf("idle polls: %d git requests for %d polls", reqs, polls)
		if reqs < polls-1 || reqs > polls+1 {
			t.Errorf("%d git requests for %d idle polls; want one each", reqs, polls)
		}
		st := p.status()
		if st.LastPoll.Outcome != "unchanged" || !st.LastPoll.At.After(before) {
			t.Errorf("last poll %+v; want unchanged", st.LastPoll)
		}
		if n := p.metric("edge_agent_key_reads_total"); n != reads {
			t.Errorf("vault reads during idle polls: %v; want 0", n-reads)
		}
		for _, r := range git.Requests() {
			if !strings.Contains(r.String(), "info/refs") {
				t.Errorf("idle poll made request %s; want only the ref advertisement", r)
			}
		}
	})

	t.Run("site added by commit is served", func(t *testing.T) {
		addSite("gamma", 0, true)
		c := repo.Commit("add gamma", nil)
		d := p.waitFor("gamma served", 20*time.Second, func() bool { return p.serves("gamma.example.test") })
		t.Logf("commit-to-served: %v (poll interval 300ms)", d)
		if st := p.status(); st.Serving.Commit != c {
			t.Errorf("serving %s; want %s", st.Serving.Commit, c)
		}
		// The same fact in the metrics.
		if v, ok := p.series(`edge_agent_serving_info{commit="` + c + `"}`); !ok || v != 1 {
			t.Errorf("edge_agent_serving_info for %s: %v, %v; want 1", c, v, ok)
		}
	})

	t.Run("invalid commit is rejected and the old snapshot keeps serving", func(t *testing.T) {
		good := p.status().Serving.Commit
		bad := repo.CommitStrings("broken", map[string]string{"sites/gamma.cue": "package edge\n\nsites: gamma: {\n\thosts: [\"gamma.example.test\"]\n\tcert: \"certs/gamma.pem\"\n\tkey: path: \"edge/gamma\"\n\troutes: \"/\": upstreams: [\"ftp://127.0.0.1:21\"]\n}\n"})
		p.waitFor("rejection", 20*time.Second, func() bool { r := p.status().Rejected; return r != nil && r.Commit == bad })
		st := p.status()
		d := st.Rejected.Errors[0]
		if d.File != "sites/gamma.cue" || d.Line != 7 || d.Col == 0 {
			t.Errorf("diagnostic %s; want sites/gamma.cue:7:col", d)
		}
		if st.Serving.Commit != good || !p.serves("gamma.example.test") {
			t.Errorf("serving %s; want still %s with gamma served", st.Serving.Commit, good)
		}
		if v := p.metric("edge_agent_revision_rejected"); v != 1 {
			t.Errorf("edge_agent_revision_rejected = %v while %s is rejected; want 1", v, bad)
		}
		out, err := exec.Command(edgectl(t), "status", "--admin", p.admin).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("edgectl status: %v; want exit 1 while a revision is rejected", err)
		}
		if !strings.Contains(string(out), "REJECTED") || !strings.Contains(string(out), "sites/gamma.cue:7:") {
			t.Errorf("edgectl status output lacks the rejection and its position:\n%s", out)
		}
		repo.Git("revert", "--no-edit", "HEAD")
		repo.Push()
		p.waitFor("recovery", 20*time.Second, func() bool { return p.status().Rejected == nil })
	})

	t.Run("key rotated by pinning a new version", func(t *testing.T) {
		_, _, oldSerial, err := p.get("beta.example.test")
		if err != nil {
			t.Fatal(err)
		}
		g := addSite("beta", 2, false)
		keys["beta"] = g.Leaf.KeyPEM
		if v := vault.PutKV(t, "secret", "edge/beta", map[string]any{"key": string(g.Leaf.KeyPEM)}); v != 2 {
			t.Fatalf("new KV version %d; want 2", v)
		}
		repo.Commit("rotate beta to key v2", nil)
		want := g.Leaf.Cert.SerialNumber.String()
		p.waitFor("new beta certificate", 20*time.Second, func() bool { _, _, s, err := p.get("beta.example.test"); return err == nil && s == want })
		if want == oldSerial {
			t.Fatal("test bug: the certificate did not change")
		}
		if s := p.status(); siteNamed(s, "beta").KeyVersion != 2 {
			t.Errorf("beta key version %d; want 2", siteNamed(s, "beta").KeyVersion)
		}
	})

	t.Run("vault down: keep serving, new site waits, recovers when vault returns", func(t *testing.T) {
		vault.Stop()
		delta := addSite("delta", 0, false)
		c := repo.Commit("add delta while vault is down", nil)
		p.waitFor("delta reported failed", 20*time.Second, func() bool {
			st := p.status()
			return st.Serving.Commit == c && siteNamed(st, "delta").State == reconcile.SiteFailed
		})
		for _, h := range []string{"alpha.example.test", "beta.example.test", "gamma.example.test"} {
			if !p.serves(h) {
				t.Errorf("%s not served while vault is down", h)
			}
		}
		if _, _, _, err := p.get("delta.example.test"); err == nil {
			t.Error("delta served without its key")
		}

		// A dev server comes back empty: seed it as an operator would, with the same
		// role_id and a new secret_id in the file the agent reads at each login.
		vault.Restart(t)
		vault.WritePolicy(t, "edge", string(policy))
		vault.EnableAppRole(t)
		_, secretID2 := vault.CreateAppRole(t, "edge", []string{"edge"}, map[string]any{"token_ttl": "1h"})
		if _, err := vault.Client.Logical().Write("auth/approle/role/edge/role-id", map[string]any{"role_id": roleID}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(secretFile, []byte(secretID2), 0o600); err != nil {
			t.Fatal(err)
		}
		keys["delta"] = delta.Leaf.KeyPEM
		for _, name := range []string{"alpha", "beta", "gamma", "delta"} {
			if name == "beta" { // beta is pinned to version 2: write v1 then v2
				vault.PutKV(t, "secret", "edge/beta", map[string]any{"key": "placeholder"})
			}
			vault.PutKV(t, "secret", "edge/"+name, map[string]any{"key": string(keys[name])})
		}
		d := p.waitFor("delta served after vault returned", 60*time.Second, func() bool { return p.serves("delta.example.test") })
		t.Logf("recovered %v after vault came back", d)
		if st := siteNamed(p.status(), "delta"); st.State != reconcile.SiteServing {
			t.Errorf("delta %+v; want serving", st)
		}
	})

	t.Run("force-push is followed", func(t *testing.T) {
		before := p.status().Serving.Commit
		c := repo.Rewrite("HEAD~1", "history rewritten without delta", nil)
		p.waitFor("rewritten commit served", 20*time.Second, func() bool { return p.status().Serving.Commit == c })
		if c == before {
			t.Fatal("test bug: rewrite produced the same commit")
		}
		if siteNamed(p.status(), "delta").State != "" {
			t.Errorf("delta still in status after the force-push removed it")
		}
		// Removed from the config, so gone from the listener: its name no longer completes
		// a TLS handshake (no default site here), while the others still do.
		if _, _, _, err := p.get("delta.example.test"); err == nil {
			t.Error("delta still served after the commit that added it was rewritten away")
		}
		if !p.serves("alpha.example.test") {
			t.Error("alpha not served after the force-push")
		}
	})

	t.Run("SIGTERM drains and exits 0", func(t *testing.T) {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			t.Fatal("agent did not exit within 15s of SIGTERM")
		}
		if p.waitResult != nil {
			t.Errorf("exit: %v; want 0", p.waitResult)
		}
		if strings.Contains(p.out.String(), "PRIVATE KEY") {
			t.Error("agent output contains private key material")
		}
	})
}

// metric returns the value of a metric from the admin /metrics endpoint; name is the
// series as exposed, e.g. `edge_agent_polls_total{outcome="applied"}`. A missing series
// fails the test.
func (p *agentProc) metric(name string) float64 {
	p.t.Helper()
	v, ok := p.series(name)
	if !ok {
		p.t.Fatalf("metric %s not found", name)
	}
	return v
}

// counter is metric for a counter series, which does not exist until counted: 0 then.
func (p *agentProc) counter(name string) float64 {
	p.t.Helper()
	v, _ := p.series(name)
	return v
}

func (p *agentProc) series(name string) (float64, bool) {
	p.t.Helper()
	resp, err := http.Get("http://" + p.admin + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		var v float64
		if strings.HasPrefix(line, name+" ") {
			if _, err := fmt.Sscanf(line[len(name)+1:], "%g", &v); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}

func siteNamed(st reconcile.Status, name string) reconcile.SiteStatus {
	for _, s := range st.Sites {
		if s.Name == name {
			return s
		}
	}
	return reconcile.SiteStatus{}
}
