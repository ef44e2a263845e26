package tests

import (
	"crypto/x509"
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
	writePlainSite(t, f.repo, f.vault, f.backend.URL)
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

// writePlainSite writes the fleets' site with a certificate from the repo ("plain",
// plain.edge.test, proxied to backend) into repo's work tree, its key in Vault.
func writePlainSite(t *testing.T, repo *testenv.GitRepo, vault *testenv.Vault, backend string) {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	g, err := sitegen.WriteSite(repo.Dir, sitegen.Site{Name: "plain", Hosts: []string{"plain.edge.test"}, Upstreams: []string{backend}}, sitegen.Options{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	vault.PutKV(t, "secret", "edge/plain", map[string]any{"key": string(g.Leaf.KeyPEM)})
}
