package tests

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
	"github.com/edgectl/edge/tests/testenv"
)

// issueFleet is two or more agent binaries sharing one Vault (AppRole, the example
// policies) and one config repo, for issuers other than the ACME tests' Pebble.
type issueFleet struct {
	t                  *testing.T
	vault              *testenv.Vault
	repo               *testenv.GitRepo
	git                *testenv.GitHTTP
	backend            *httptest.Server
	roleID, secretFile string
}

// startIssueFleet starts Vault with the AppRole "edge" holding the example policies named
// (files of examples/vault), a backend and a config repo whose first commit is edgeCUE.
func startIssueFleet(t *testing.T, edgeCUE string, policies ...string) *issueFleet {
	t.Helper()
	f := &issueFleet{t: t, vault: testenv.StartVault(t)}
	var names []string
	for _, p := range policies {
		hcl, err := os.ReadFile(filepath.Join("../examples/vault", p))
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(p, ".hcl")
		f.vault.WritePolicy(t, name, string(hcl))
		names = append(names, name)
	}
	f.vault.EnableAppRole(t)
	roleID, secretID := f.vault.CreateAppRole(t, "edge", names, map[string]any{"token_ttl": "1h"})
	f.roleID, f.secretFile = roleID, filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(f.secretFile, []byte(secretID), 0o600); err != nil {
		t.Fatal(err)
	}
	f.backend = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.Host)
	}))
	t.Cleanup(f.backend.Close)
	f.repo = testenv.NewGitRepo(t)
	f.git = testenv.StartGitHTTP(t, f.repo.Bare, nil)
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	g, err := sitegen.WriteSite(f.repo.Dir, sitegen.Site{Name: "plain", Hosts: []string{"plain.edge.test"}, Upstreams: []string{f.backend.URL}}, sitegen.Options{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	f.vault.PutKV(t, "secret", "edge/plain", map[string]any{"key": string(g.Leaf.KeyPEM)})
	f.repo.Commit("plain site and the issuers", map[string][]byte{"edge.cue": []byte(edgeCUE)})
	return f
}

// startAgent runs an agent of the fleet on ip's shared tlsPort (and httpPort when not "").
func (f *issueFleet) startAgent(ip, tlsPort, httpPort string, extra ...string) *agentProc {
	f.t.Helper()
	httpListen := "off"
	if httpPort != "" {
		httpListen = net.JoinHostPort(ip, httpPort)
	}
	args := append([]string{"--repo", f.git.URL, "--interval", "200ms", "--keys", "vault",
		"--vault-addr", f.vault.Addr, "--vault-role-id", f.roleID, "--vault-secret-id-file", f.secretFile,
		"--listen", net.JoinHostPort(ip, tlsPort), "--http-listen", httpListen, "--http3=false",
		"--issue-retry", "1s", "--issue-wait", "200ms", "--issue-lock-ttl", "30s"}, extra...)
	p := startAgentProc(f.t, nil, nil, args...)
	p.https = net.JoinHostPort(ip, tlsPort)
	f.t.Cleanup(func() {
		if strings.Contains(p.out.String(), "PRIVATE KEY") {
			f.t.Error("agent output contains private key material")
		}
	})
	return p
}

// addSite commits site name for hosts with tls: {issuer} and returns when it was committed.
func (f *issueFleet) addSite(name, issuer string, hosts ...string) time.Time {
	f.t.Helper()
	quoted := make([]string, len(hosts))
	for i, h := range hosts {
		quoted[i] = fmt.Sprintf("%q", h)
	}
	site := fmt.Sprintf("package edge\n\nsites: %s: {\n\thosts: [%s]\n\ttls: issuer: %q\n\troutes: \"/\": upstreams: [%q]\n}\n",
		name, strings.Join(quoted, ", "), issuer, f.backend.URL)
	start := time.Now()
	f.repo.Commit("add "+name, map[string][]byte{"sites/" + name + ".cue": []byte(site)})
	return start
}

// served fetches https://host/ from p verifying the chain against roots; the leaf's serial.
func served(p *agentProc, host string, roots *x509.CertPool) (string, error) {
	return (&acmeFleet{}).servedSerial(p, host, roots)
}

// waitServedBy waits until p serves host with a certificate verified against roots.
func waitServedBy(p *agentProc, host string, roots *x509.CertPool) string {
	p.t.Helper()
	var serial string
	p.waitFor(host+" served with an issued certificate", 2*time.Minute, func() bool {
		s, err := served(p, host, roots)
		serial = s
		return err == nil
	})
	return serial
}

// enablePKI mounts Vault's PKI engine at pki/ with a generated root and the role "edge"
// (names under internal.test, certificates living at most maxTTL); the root's pool.
func enablePKI(t *testing.T, v *testenv.Vault, maxTTL string) *x509.CertPool {
	t.Helper()
	if err := v.Client.Sys().Mount("pki", &vaultapi.MountInput{Type: "pki", Config: vaultapi.MountConfigInput{MaxLeaseTTL: "87600h"}}); err != nil {
		t.Fatal(err)
	}
	l := v.Client.Logical()
	s, err := l.Write("pki/root/generate/internal", map[string]any{"common_name": "edge test root", "ttl": "87600h"})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(s.Data["certificate"].(string)))
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write("pki/roles/edge", map[string]any{
		"allowed_domains": "internal.test", "allow_subdomains": true,
		"ttl": maxTTL, "max_ttl": maxTTL, "not_before_duration": "1s", "key_type": "any",
	}); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return pool
}

// pkiSigned is how many certificates Vault's PKI engine at pki/ has signed (its stored
// serials, less the root's).
func pkiSigned(t *testing.T, v *testenv.Vault) int {
	t.Helper()
	s, err := v.Client.Logical().ListWithContext(context.Background(), "pki/certs")
	if err != nil {
		t.Fatal(err)
	}
	if s == nil {
		return 0
	}
	keys, _ := s.Data["keys"].([]any)
	return len(keys) - 1
}

// TestVaultPKIIssuedOnceServedByBothRenewed: a commit adds a site whose issuer is Vault's
// PKI engine; of two agents sharing Vault and the repo, one has it signed (once), both serve
// it with a chain to the PKI root, and with 30-second certificates it is renewed before
// expiry while a client keeps asking both agents, none of its requests failing.
func TestVaultPKIIssuedOnceServedByBothRenewed(t *testing.T) {
	t.Parallel()
	const ttl = 30 * time.Second
	f := startIssueFleet(t, fmt.Sprintf("package edge\n\nissuers: internal: vault_pki: {mount: \"pki\", role: \"edge\", ttl: %q}\n", ttl),
		"edge-policy.hcl", "edge-pki-policy.hcl")
	roots := enablePKI(t, f.vault, "1h")
	port := portOf(sharedPortAddrs(t, acmeIPA, acmeIPB)[0])
	a := f.startAgent(acmeIPA, port, "")
	b := f.startAgent(acmeIPB, port, "")
	const host = "app.internal.test"
	start := f.addSite("internal", "internal", host)
	first := waitServedBy(a, host, roots)
	t.Logf("figure: Vault PKI, commit to served with a fresh certificate: %v", time.Since(start).Round(time.Millisecond))
	if sb := waitServedBy(b, host, roots); sb != first {
		t.Fatalf("agents serve serials %s and %s; want the one certificate", first, sb)
	}
	t.Logf("figure: Vault PKI, commit to served by both agents: %v", time.Since(start).Round(time.Millisecond))
	if n := pkiSigned(t, f.vault); n != 1 {
		t.Fatalf("Vault PKI signed %d certificates; want 1", n)
	}
	for _, p := range []*agentProc{a, b} {
		p.waitFor("status issued", 10*time.Second, func() bool {
			st := issueState(p, "internal")
			return st != nil && st.State == issue.StateIssued
		})
	}
	if body := getBody(t, "http://"+a.admin+"/ui/"); !strings.Contains(body, `<div class="issue issued">issued by internal, renews `) {
		t.Fatalf("status page does not show the issued certificate:\n%s", body)
	}
	failures := clientDuring(t, []*agentProc{a, b}, host, roots, func() {
		for _, p := range []*agentProc{a, b} {
			p.waitFor("a renewed certificate", 90*time.Second, func() bool {
				s, err := served(p, host, roots)
				return err == nil && s != first
			})
		}
	})
	if len(failures) > 0 {
		t.Fatalf("%d requests failed during renewal, first: %s", len(failures), failures[0])
	}
	if n := pkiSigned(t, f.vault); n != 2 {
		t.Fatalf("Vault PKI signed %d certificates; want the first and one renewal", n)
	}
}

// clientDuring asks every agent for https://host/ in a loop while during runs; the
// failures.
func clientDuring(t *testing.T, agents []*agentProc, host string, roots *x509.CertPool, during func()) []string {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan []string)
	go func() {
		var failures []string
		requests := 0
		for {
			select {
			case <-stop:
				t.Logf("figure: %d requests during renewal, %d failed", requests, len(failures))
				done <- failures
				return
			default:
			}
			for _, p := range agents {
				requests++
				if _, err := served(p, host, roots); err != nil {
					failures = append(failures, err.Error())
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	during()
	close(stop)
	return <-done
}

// TestDNS01WildcardSite: a commit adds a site for "*.w.test" and "w.test" whose ACME
// issuer answers dns-01 with RFC 2136 updates to a real knot, signed with a TSIG key whose
// secret is in Vault; Pebble resolves through that knot. Of two agents one orders (Pebble
// sees one order), both serve the wildcard certificate for a name under it and the apex.
func TestDNS01WildcardSite(t *testing.T) {
	t.Parallel()
	key := testenv.NewTSIGKey("edge-acme")
	dns := testenv.StartDNSUpdates(t, "w.test", map[string][]string{"ns": {"127.0.0.1"}}, key)
	pebble := testenv.StartPebble(t, testenv.PebbleOptions{DNSServer: dns.Addr})
	f := startIssueFleet(t, fmt.Sprintf(`package edge

issuers: wild: acme: {
	directory: %q
	email: "ops@w.test"
	challenges: ["dns-01"]
	dns01: {server: %q, zone: "w.test", tsig: {name: %q, algorithm: %q, secret: {path: "edge/tsig", field: "secret"}}}
}
`, pebble.DirectoryURL, dns.Addr, key.Name, key.Algorithm), "edge-policy.hcl")
	f.vault.PutKV(t, "secret", "edge/tsig", map[string]any{"secret": key.Secret})
	port := portOf(sharedPortAddrs(t, acmeIPA, acmeIPB)[0])
	a := f.startAgent(acmeIPA, port, "", "--acme-ca-file", pebble.TLSCAFile)
	b := f.startAgent(acmeIPB, port, "", "--acme-ca-file", pebble.TLSCAFile)
	start := f.addSite("wild", "wild", "*.w.test", "w.test")
	roots := pebble.Roots(t)
	serial := waitServedBy(a, "api.w.test", roots)
	t.Logf("figure: DNS-01, commit to served with a fresh wildcard certificate: %v", time.Since(start).Round(time.Millisecond))
	for _, host := range []string{"api.w.test", "w.test"} {
		for _, p := range []*agentProc{a, b} {
			if s := waitServedBy(p, host, roots); s != serial {
				t.Fatalf("%s served with serial %s; want %s, the one certificate", host, s, serial)
			}
		}
	}
	if n := pebble.Orders(); n != 1 {
		t.Fatalf("Pebble saw %d orders; want 1", n)
	}
	if n := a.counter(`edge_issue_attempts_total{issuer="wild"}`) + b.counter(`edge_issue_attempts_total{issuer="wild"}`); n != 1 {
		t.Fatalf("agents counted %v attempts; want 1", n)
	}
	if txt, err := dns.Resolver().LookupTXT(context.Background(), "_acme-challenge.w.test"); len(txt) != 0 {
		t.Fatalf("challenge records left in the zone after the order: %q (%v)", txt, err)
	}
	if out := a.out.String() + b.out.String(); strings.Contains(out, key.Secret) {
		t.Fatal("agent output contains the TSIG secret")
	}
}

// getBody GETs u and returns its body; it fails t unless the answer is 200.
func getBody(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %v", u, resp.Status, err)
	}
	return string(b)
}

// TestDNS01WrongTSIGSecretReported: with a wrong TSIG secret in Vault, knot refuses the
// updates: the wildcard site is not served and is reported failed with the reason (not the
// secret) and the next attempt; once the right secret is in Vault, it is issued by itself.
func TestDNS01WrongTSIGSecretReported(t *testing.T) {
	t.Parallel()
	key := testenv.NewTSIGKey("edge-acme")
	dns := testenv.StartDNSUpdates(t, "w.test", map[string][]string{"ns": {"127.0.0.1"}}, key)
	pebble := testenv.StartPebble(t, testenv.PebbleOptions{DNSServer: dns.Addr})
	f := startIssueFleet(t, fmt.Sprintf(`package edge

issuers: wild: acme: {
	directory: %q
	challenges: ["dns-01"]
	dns01: {server: %q, tsig: {name: %q, secret: {path: "edge/tsig", field: "secret"}}}
}
`, pebble.DirectoryURL, dns.Addr, key.Name), "edge-policy.hcl")
	wrong := testenv.NewTSIGKey("edge-acme").Secret
	f.vault.PutKV(t, "secret", "edge/tsig", map[string]any{"secret": wrong})
	a := f.startAgent(acmeIPA, portOf(freeAddr(t)), "", "--acme-ca-file", pebble.TLSCAFile)
	f.addSite("wild", "wild", "*.w.test")
	var st *issue.SiteStatus
	a.waitFor("a failed order reported", time.Minute, func() bool {
		st = issueState(a, "wild")
		return st != nil && st.State == issue.StateFailed && !st.NextAttempt.IsZero()
	})
	t.Logf("reported: %s (next attempt %s)", st.Reason, st.NextAttempt.Format(time.RFC3339))
	if !strings.Contains(st.Reason, "dns-01") && !strings.Contains(strings.ToLower(st.Reason), "tsig") {
		t.Errorf("reason %q; want it to say the dns-01 update failed", st.Reason)
	}
	if _, err := served(a, "api.w.test", nil); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Fatalf("handshake for the unissued site: %v; want refused as an unknown name", err)
	}
	f.vault.PutKV(t, "secret", "edge/tsig", map[string]any{"secret": key.Secret})
	waitServedBy(a, "api.w.test", pebble.Roots(t))
	if out := a.out.String() + fmt.Sprint(a.status()); strings.Contains(out, key.Secret) || strings.Contains(out, wrong) {
		t.Fatal("agent output or status contains a TSIG secret")
	}
}
