package tests

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/fleet"
	"github.com/edgectl/edge/tests/testca"
)

// TestFleetStatusAdminAccess: three agents whose admin listeners serve TLS and require both
// a bearer token and a client certificate. `status --fleet dns:https://...` with
// --token-file, --cacert, --cert and --key sees them converged; without the token, the
// client certificate or the CA, every agent is unreachable for that reason, and the token
// never shows. Single-agent status uses the same flags; the first agent's /ui/api/fleet asks
// its peers with --fleet-token-file, --fleet-cacert, --fleet-cert and --fleet-key.
func TestFleetStatusAdminAccess(t *testing.T) {
	const token = "fleet-admin-token-0123456789"
	d := newDirRepo(t)
	c1 := d.add("alpha")
	admins, dns := dnsFleet(t)
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Issue([]string{"agents.edge.test", "127.0.0.2", "127.0.0.3", "127.0.0.4"}, testca.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.IssueClient("deploy-pipeline", testca.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile, tokenFile := file("ca.pem", ca.CertPEM), file("token", []byte(token+"\n"))
	certFile, keyFile := file("client.pem", client.ChainPEM), file("client.key", client.KeyPEM)
	access := []string{"--admin-tls-cert", file("admin.pem", server.ChainPEM), "--admin-tls-key", file("admin.key", server.KeyPEM),
		"--admin-client-ca", caFile, "--admin-token-file", tokenFile}
	name := "dns:https://agents.edge.test:" + portOf(admins[0])
	probe := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "agents.edge.test"}}}
	peerCreds := []string{"--fleet-peers", name, "--fleet-token-file", tokenFile, "--fleet-cacert", caFile, "--fleet-cert", certFile, "--fleet-key", keyFile}
	env := []string{fleet.DNSServerEnv + "=" + dns.Addr}
	first := startAgentAt(t, d, admins[0], probe, env, append(append([]string{"--repo", d.git.URL}, access...), peerCreds...)...)
	for _, a := range admins[1:] {
		startAgentAt(t, d, a, probe, nil, append([]string{"--repo", d.git.URL}, access...)...)
	}
	creds := []string{"--token-file", tokenFile, "--cacert", caFile, "--cert", certFile, "--key", keyFile}
	first.waitFor("the fleet converged on "+c1[:12], 60*time.Second, func() bool {
		code, _, _ := fleetStatus(t, dns.Addr, append([]string{"--fleet", name}, creds...)...)
		return code == 0
	})

	for _, tc := range []struct {
		name  string
		creds []string
		has   string
	}{
		{"no token", []string{"--cacert", caFile, "--cert", certFile, "--key", keyFile}, "401 Unauthorized (the admin listener wants a bearer token: --token-file)"},
		{"no client certificate", []string{"--token-file", tokenFile, "--cacert", caFile}, "403 Forbidden (a client certificate is needed"},
		{"no CA", []string{"--token-file", tokenFile, "--cert", certFile, "--key", keyFile}, "certificate signed by unknown authority"},
	} {
		code, out, errOut := fleetStatus(t, dns.Addr, append([]string{"--fleet", name}, tc.creds...)...)
		if code != 1 || strings.Count(out, "UNREACHABLE") != 3 || !strings.Contains(out, tc.has) {
			t.Errorf("%s: exit %d; want 1, three agents unreachable for %q\n%s%s", tc.name, code, tc.has, out, errOut)
		}
	}
	code, out, errOut := fleetStatus(t, dns.Addr, append([]string{"--admin", "https://" + admins[1]}, creds...)...)
	if code != 0 || !strings.Contains(out, "serving   "+c1[:12]) {
		t.Errorf("single-agent status over TLS with a token and a client certificate: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, token) {
		t.Error("status printed the token")
	}
	checkFleetAPIWithCreds(t, first, probe.Transport.(*http.Transport), token, certFile, keyFile)
}

// checkFleetAPIWithCreds asks p's /ui/api/fleet, as the page would, with the token and a
// client certificate: its peers, asked with the agent's --fleet-* credentials, converged.
func checkFleetAPIWithCreds(t *testing.T, p *agentProc, tr *http.Transport, token, certFile, keyFile string) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tr = tr.Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{pair}
	req, _ := http.NewRequest("GET", "https://"+p.admin+fleet.APIPath, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var s fleet.Summary
	if err := json.Unmarshal(b, &s); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v\n%s", fleet.APIPath, resp.StatusCode, err, b)
	}
	if !s.Converged || len(s.Agents) != 3 || strings.Contains(string(b), token) {
		t.Errorf("%s: %s; want three agents converged, no token", fleet.APIPath, b)
	}
}
