package tests

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/tests/testenv"
)

// The tests of this file run two agent binaries sharing one Vault (the example policy,
// AppRole) and one config repo, with a real Pebble as the ACME CA validating against the
// agents' real listeners: agent A on 127.0.0.2 and agent B on 127.0.0.3, both on the same
// HTTP and HTTPS ports, so the address Pebble's resolver gives a name decides which agent
// the CA reaches.

const (
	acmeIPA = "127.0.0.2"
	acmeIPB = "127.0.0.3"
	acmeIPC = "127.0.0.4"
)

// acmeFleet is the shared world of the ACME tests.
type acmeFleet struct {
	t                  *testing.T
	vault              *testenv.Vault
	pebble             *testenv.Pebble
	repo               *testenv.GitRepo
	git                *testenv.GitHTTP
	backend            *httptest.Server
	roleID, secretFile string
	httpPort, tlsPort  string
	agents             []*agentProc
}

// acmeOptions shape an acmeFleet.
type acmeOptions struct {
	challenges string        // the issuer's challenges, CUE list text
	validity   time.Duration // Pebble's certificate lifetime; 0: 90 days
	lockTTL    time.Duration // --issue-lock-ttl; 0: 30s
	pebbleIP   string        // where Pebble reaches every name; "": agent B
}

func startACMEFleet(t *testing.T, o acmeOptions) *acmeFleet {
	t.Helper()
	f := &acmeFleet{t: t, vault: testenv.StartVault(t)}
	policy, err := os.ReadFile("../examples/vault/edge-policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	f.vault.WritePolicy(t, "edge", string(policy))
	f.vault.EnableAppRole(t)
	var secretID string
	f.roleID, secretID = f.vault.CreateAppRole(t, "edge", []string{"edge"}, map[string]any{"token_ttl": "1h"})
	f.secretFile = filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(f.secretFile, []byte(secretID), 0o600); err != nil {
		t.Fatal(err)
	}
	f.backend = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.Host)
	}))
	t.Cleanup(f.backend.Close)
	f.httpPort = portOf(sharedPortAddrs(t, acmeIPA, acmeIPB, acmeIPC)[0])
	f.tlsPort = portOf(sharedPortAddrs(t, acmeIPA, acmeIPB, acmeIPC)[0])
	ip := o.pebbleIP
	if ip == "" {
		ip = acmeIPB
	}
	f.pebble = testenv.StartPebble(t, testenv.PebbleOptions{HTTPPort: atoi(t, f.httpPort), TLSPort: atoi(t, f.tlsPort), DefaultIPv4: ip, Validity: o.validity})
	f.repo = testenv.NewGitRepo(t)
	f.git = testenv.StartGitHTTP(t, f.repo.Bare, nil)
	writePlainSite(t, f.repo, f.vault, f.backend.URL)
	chals := o.challenges
	if chals == "" {
		chals = `["http-01"]`
	}
	f.repo.Commit("plain site and the pebble issuer", map[string][]byte{"edge.cue": fmt.Appendf(nil,
		"package edge\n\nissuers: pebble: acme: {\n\tdirectory: %q\n\temail: \"ops@edge.test\"\n\tchallenges: %s\n}\n", f.pebble.DirectoryURL, chals)})
	return f
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// startAgent runs an agent on ip (the fleet's shared ports) with extra args.
func (f *acmeFleet) startAgent(ip string, lockTTL time.Duration, extra ...string) *agentProc {
	f.t.Helper()
	if lockTTL == 0 {
		lockTTL = 30 * time.Second
	}
	args := append([]string{"--repo", f.git.URL, "--interval", "200ms", "--keys", "vault",
		"--vault-addr", f.vault.Addr, "--vault-role-id", f.roleID, "--vault-secret-id-file", f.secretFile,
		"--listen", net.JoinHostPort(ip, f.tlsPort), "--http-listen", net.JoinHostPort(ip, f.httpPort), "--http3=false",
		"--acme-ca-file", f.pebble.TLSCAFile, "--issue-retry", "1s", "--issue-wait", "200ms",
		"--issue-lock-ttl", lockTTL.String()}, extra...)
	p := startAgentProc(f.t, nil, nil, args...)
	p.https = net.JoinHostPort(ip, f.tlsPort)
	f.agents = append(f.agents, p)
	f.t.Cleanup(func() {
		if strings.Contains(p.out.String(), "PRIVATE KEY") {
			f.t.Error("agent output contains private key material")
		}
	})
	return p
}

// addSite commits an ACME site named name for host and returns when it was committed.
func (f *acmeFleet) addSite(name, host string) time.Time {
	f.t.Helper()
	site := fmt.Sprintf("package edge\n\nsites: %s: {\n\thosts: [%q]\n\ttls: issuer: \"pebble\"\n\troutes: \"/\": upstreams: [%q]\n}\n", name, host, f.backend.URL)
	start := time.Now()
	f.repo.Commit("add "+name, map[string][]byte{"sites/" + name + ".cue": []byte(site)})
	return start
}

// served fetches https://host/ from agent p, verifying its certificate against roots, and
// returns the leaf's serial; err when the handshake or request fails.
func served(p *agentProc, host string, roots *x509.CertPool) (string, error) {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: host},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", p.https)
		},
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + host + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Text(16), nil
}

// waitServed waits until p serves host with a certificate from Pebble and returns its
// serial.
func (f *acmeFleet) waitServed(p *agentProc, host string, roots *x509.CertPool) string {
	f.t.Helper()
	var serial string
	p.waitFor(host+" served with an issued certificate", 2*time.Minute, func() bool {
		s, err := served(p, host, roots)
		serial = s
		return err == nil
	})
	return serial
}

// issueState is p's issuance state of site.
func issueState(p *agentProc, site string) *issue.SiteStatus {
	return siteNamed(p.status(), site).Issue
}

// TestACMEHTTP01OrderedOnceAnsweredByTheOtherAgent: agent A orders (B never does), Pebble
// validates HTTP-01 against agent B, which answers from the material A put in Vault; both
// serve the one certificate; idle polls then read nothing from Vault.
func TestACMEHTTP01OrderedOnceAnsweredByTheOtherAgent(t *testing.T) {
	t.Parallel()
	f := startACMEFleet(t, acmeOptions{})
	a := f.startAgent(acmeIPA, 0)
	b := f.startAgent(acmeIPB, 0, "--issue-no-order")
	start := f.addSite("shop", "shop.edge.test")
	roots := f.pebble.Roots(t)
	sa := f.waitServed(a, "shop.edge.test", roots)
	t.Logf("figure: HTTP-01, commit to served with a fresh certificate: %v", time.Since(start).Round(time.Millisecond))
	sb := f.waitServed(b, "shop.edge.test", roots)
	if sa != sb {
		t.Fatalf("agents serve serials %s and %s; want the one certificate", sa, sb)
	}
	if n := f.pebble.Orders(); n != 1 {
		t.Fatalf("Pebble saw %d orders; want 1", n)
	}
	if n := f.pebble.Issued(t)["shop.edge.test"]; n != 1 {
		t.Fatalf("Pebble issued %d certificates for shop.edge.test; want 1", n)
	}
	if !strings.Contains(a.out.String(), "certificate issued") || strings.Contains(b.out.String(), "certificate issued") {
		t.Fatal("want exactly agent A to log the order")
	}
	for _, p := range []*agentProc{a, b} {
		p.waitFor("status issued", 10*time.Second, func() bool {
			st := issueState(p, "shop")
			return st != nil && st.State == issue.StateIssued && !st.RenewAt.IsZero()
		})
	}
	out, err := exec.Command(edgectl(t), "status", "--admin", b.admin, "shop").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "shop: certificate from pebble: issued") {
		t.Fatalf("edgectl status: %v\n%s", err, out)
	}
	if n := a.counter(`edge_issue_attempts_total{issuer="pebble"}`); n != 1 {
		t.Fatalf("agent A counted %v attempts; want 1", n)
	}
	idleVaultReads(t, a, b)
}

// idleVaultReads checks that polls of an unchanged commit read nothing from Vault.
func idleVaultReads(t *testing.T, agents ...*agentProc) {
	t.Helper()
	before := make([]float64, len(agents))
	polls := make([]float64, len(agents))
	for i, p := range agents {
		before[i] = p.counter("edge_issue_vault_reads_total") + p.counter("edge_agent_key_reads_total")
		polls[i] = p.counter(`edge_agent_polls_total{outcome="unchanged"}`)
	}
	for i, p := range agents {
		p.waitFor("5 idle polls", 30*time.Second, func() bool {
			return p.counter(`edge_agent_polls_total{outcome="unchanged"}`) >= polls[i]+5
		})
	}
	for i, p := range agents {
		d := p.counter("edge_issue_vault_reads_total") + p.counter("edge_agent_key_reads_total") - before[i]
		polled := p.counter(`edge_agent_polls_total{outcome="unchanged"}`) - polls[i]
		t.Logf("figure: agent %d: %v Vault reads over %v idle polls", i, d, polled)
		if d != 0 {
			t.Errorf("agent %d read Vault %v times over %v idle polls; want 0", i, d, polled)
		}
	}
}

// TestACMETLSALPN01 issues through TLS-ALPN-01 on the HTTPS listener, three agents free to
// order at once, Pebble reaching agent B: one order, all serve it.
func TestACMETLSALPN01(t *testing.T) {
	t.Parallel()
	f := startACMEFleet(t, acmeOptions{challenges: `["tls-alpn-01"]`})
	agents := []*agentProc{f.startAgent(acmeIPA, 0), f.startAgent(acmeIPB, 0), f.startAgent(acmeIPC, 0)}
	start := f.addSite("alpn", "alpn.edge.test")
	roots := f.pebble.Roots(t)
	serials := map[string]bool{}
	for _, p := range agents {
		serials[f.waitServed(p, "alpn.edge.test", roots)] = true
	}
	t.Logf("figure: TLS-ALPN-01, commit to served by 3 agents with a fresh certificate: %v; %d order(s) at Pebble", time.Since(start).Round(time.Millisecond), f.pebble.Orders())
	if len(serials) != 1 {
		t.Fatalf("agents serve %d different certificates; want the one", len(serials))
	}
	if n := f.pebble.Orders(); n != 1 {
		t.Fatalf("Pebble saw %d orders; want 1", n)
	}
	if n := f.pebble.Issued(t)["alpn.edge.test"]; n != 1 { // the issuer offers tls-alpn-01 only
		t.Fatalf("Pebble issued %d certificates for alpn.edge.test; want 1", n)
	}
}

// TestACMERenewalWithoutAFailedRequest: with 30-second certificates, the fleet renews
// before expiry (one order per renewal) and both agents switch to the new certificate
// while a client keeps asking both, none of its requests failing.
func TestACMERenewalWithoutAFailedRequest(t *testing.T) {
	t.Parallel()
	f := startACMEFleet(t, acmeOptions{validity: 30 * time.Second})
	a := f.startAgent(acmeIPA, 0)
	b := f.startAgent(acmeIPB, 0)
	f.addSite("short", "short.edge.test")
	roots := f.pebble.Roots(t)
	first := f.waitServed(a, "short.edge.test", roots)
	f.waitServed(b, "short.edge.test", roots)

	failures := clientDuring(t, []*agentProc{a, b}, "short.edge.test", roots, func() {
		for _, p := range []*agentProc{a, b} {
			p.waitFor("a renewed certificate", 90*time.Second, func() bool {
				s, err := served(p, "short.edge.test", roots)
				return err == nil && s != first
			})
		}
	})
	if len(failures) > 0 {
		t.Fatalf("%d requests failed during renewal, first: %s", len(failures), failures[0])
	}
	if n := f.pebble.Issued(t)["short.edge.test"]; n < 2 {
		t.Fatalf("Pebble issued %d certificates; want the first and its renewal", n)
	}
	// Pebble's ARI window for a 30 s certificate is its whole lifetime, so the renewed
	// certificate's own renewal may be ordered at once and still be in flight when the
	// agents stop: then there is one more order than certificates, and it is a replacement
	// too (r == n). An order that failed or duplicated another would not be.
	o, n, r := f.pebble.Orders(), f.pebble.Issued(t)["short.edge.test"], f.pebble.Replacements()
	if next := o == n+1 && r == n; o != n && !next {
		t.Fatalf("%d orders (%d replacements) for %d certificates: an order failed or was duplicated", o, r, n)
	}
	if r < n-1 || r > n {
		t.Fatalf("Pebble took %d orders as replacements of %d certificates; want every renewal to name the certificate it renews (ARI replaces)", r, n)
	}
}

// TestACMELockHolderKilled: agent A takes the lock and orders, but Pebble's validation
// hangs (the name points at a listener that never answers); A is killed while holding the
// lock. Agent B waits for the lock's expiry, then orders itself; the certificate is issued
// once, stored with the newer fence.
func TestACMELockHolderKilled(t *testing.T) {
	t.Parallel()
	const blackhole = "127.0.0.5"
	f := startACMEFleet(t, acmeOptions{pebbleIP: blackhole})
	hang, err := net.Listen("tcp", net.JoinHostPort(blackhole, f.httpPort))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hang.Close() })
	go func() { // accept and say nothing
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	const ttl = 8 * time.Second
	a := f.startAgent(acmeIPA, ttl)
	f.addSite("crash", "crash.edge.test")
	holder := ""
	a.waitFor("agent A holding the lock", time.Minute, func() bool {
		s, err := f.vault.Client.KVv2("secret").Get(context.Background(), "edge/issue-locks/crash")
		if err == nil {
			holder, _ = s.Data["holder"].(string)
		}
		return holder != ""
	})
	killedAt := time.Now()
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	f.pebble.SetDefaultIPv4(t, acmeIPB)
	b := f.startAgent(acmeIPB, ttl)
	f.waitServed(b, "crash.edge.test", f.pebble.Roots(t))
	t.Logf("figure: issued by agent B %v after agent A was killed holding the lock (lock TTL %v)", time.Since(killedAt).Round(time.Millisecond), ttl)
	if since := time.Since(killedAt); since < ttl*8/10 {
		t.Fatalf("B issued %v after the kill, before A's lock (TTL %v) expired", since, ttl)
	}
	rec, err := f.vault.Client.KVv2("secret").Get(context.Background(), "edge/issued/crash")
	if err != nil {
		t.Fatal(err)
	}
	if fence, _ := rec.Data["fence"].(string); fence != "2" {
		t.Fatalf("stored certificate has fence %q; want 2 (A's lock 1, B's takeover 2)", fence)
	}
	if n := f.pebble.Issued(t)["crash.edge.test"]; n != 1 {
		t.Fatalf("Pebble issued %d certificates for crash.edge.test; want 1", n)
	}
}

// TestACMEPebbleAndVaultDown: while Pebble is down, a new ACME site is not served (its
// handshake refused) and reported failed with the reason and the next attempt; when
// Pebble is back, issuance resumes by itself. Then Vault goes down: both agents keep
// serving it.
func TestACMEPebbleAndVaultDown(t *testing.T) {
	t.Parallel()
	f := startACMEFleet(t, acmeOptions{})
	f.pebble.Stop()
	a := f.startAgent(acmeIPA, 0)
	b := f.startAgent(acmeIPB, 0)
	f.addSite("down", "down.edge.test")
	var failed *issue.SiteStatus
	var reporter *agentProc // the agent that reported it: the other may not have polled yet
	a.waitFor("a failed order reported", time.Minute, func() bool {
		for _, p := range []*agentProc{a, b} {
			if st := issueState(p, "down"); st != nil && st.State == issue.StateFailed && st.Reason != "" && !st.NextAttempt.IsZero() {
				failed, reporter = st, p
				return true
			}
		}
		return false
	})
	t.Logf("reported: %s (next attempt %s)", failed.Reason, failed.NextAttempt.Format(time.RFC3339))
	if _, err := served(reporter, "down.edge.test", nil); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Fatalf("handshake for the unissued site: %v; want refused as an unknown name", err)
	}
	if st := siteNamed(reporter.status(), "down"); st.State != "failed" || st.Error == "" {
		t.Fatalf("site status %+v; want failed with the reason", st)
	}
	if a.counter(`edge_issue_failures_total{issuer="pebble"}`)+b.counter(`edge_issue_failures_total{issuer="pebble"}`) < 1 {
		t.Fatal("no failure counted in edge_issue_failures_total")
	}
	f.pebble.Restart(t)
	roots := f.pebble.Roots(t)
	f.waitServed(a, "down.edge.test", roots)
	f.waitServed(b, "down.edge.test", roots)

	f.vault.Stop()
	for _, p := range []*agentProc{a, b} {
		polls := p.counter(`edge_agent_polls_total{outcome="unchanged"}`)
		p.waitFor("polls with Vault down", 30*time.Second, func() bool {
			return p.counter(`edge_agent_polls_total{outcome="unchanged"}`) >= polls+5
		})
		if _, err := served(p, "down.edge.test", roots); err != nil {
			t.Fatalf("with Vault down: %v; want still served", err)
		}
	}
}
