package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testca"
	"github.com/edgectl/edge/tests/testenv"
)

// The agent binary's admin listener behind a bearer token and behind client certificates,
// checked with the real curl.

// curlAdmin runs curl with args and returns the HTTP status code it reports ("000" when no
// response came, e.g. a refused handshake) and the response headers and body.
func curlAdmin(t *testing.T, args ...string) (code, out string) {
	t.Helper()
	curl := testenv.NeedTool(t, "curl", "curl")
	args = append([]string{"-sS", "--max-time", "10", "-D", "-", "-w", "\n%{http_code}"}, args...)
	b, _ := exec.Command(curl, args...).CombinedOutput() // a refused handshake is an exit code and "000"
	s := strings.TrimRight(string(b), "\n")
	i := strings.LastIndex(s, "\n")
	return s[i+1:], s[:max(i, 0)]
}

// writeFile0600 writes content to a new file in a temp directory and returns its path.
func writeFile0600(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAgentAdminToken runs the agent binary with EDGE_ADMIN_TOKEN_FILE and a webhook
// secret: curl without the token, with a wrong one and with the right one gets 401, 401 and
// 200 on /status and /metrics; the probes answer without it; the webhook answers to its
// own signature; a rotated token works at once; the token is never in the agent's output.
func TestAgentAdminToken(t *testing.T) {
	d := newDirRepo(t)
	d.add("alpha")
	const token, rotated = "4f0c7d3e9a1b2c5d6e7f8091a2b3c4d5", "rotated-7e6d5c4b3a29180f7e6d5c4b"
	tokenFile := writeFile0600(t, "admin-token", []byte(token+"\n"))
	secret := "webhook-secret-value"
	p := startAgentProc(t, d.ca, []string{"EDGE_ADMIN_TOKEN_FILE=" + tokenFile}, // /readyz answers without it
		"--repo", d.git.URL, "--interval", "1h", "--key-dir", d.keyDir, "--webhook-secret-file", writeFile0600(t, "hook", []byte(secret)))
	admin := "http://" + p.admin
	for _, path := range []string{"/status", "/metrics", "/no-such-endpoint"} {
		for _, tt := range []struct{ name, code string }{{"", "401"}, {"Bearer wrong-" + token, "401"}, {"Bearer " + token, "200"}} {
			args := []string{admin + path}
			if tt.name != "" {
				args = append(args, "-H", "Authorization: "+tt.name)
			}
			want := tt.code
			if path == "/no-such-endpoint" && want == "200" {
				want = "404" // past the check: the mux has nothing there
			}
			code, out := curlAdmin(t, args...)
			if code != want {
				t.Errorf("curl %s with %q: %s; want %s\n%s", path, tt.name, code, want, out)
			}
			if want == "401" && !strings.Contains(strings.ToLower(out), `www-authenticate: bearer realm="edge admin"`) {
				t.Errorf("curl %s with %q: no Bearer challenge:\n%s", path, tt.name, out)
			}
		}
	}
	if code, out := curlAdmin(t, "--oauth2-bearer", token, admin+"/status"); code != "200" || !strings.Contains(out, `"commit"`) {
		t.Errorf("curl --oauth2-bearer /status: %s\n%s", code, out)
	}
	// What a browser does after the Basic challenge: any user name, the token as password.
	if code, out := curlAdmin(t, "-u", "ops:"+token, admin+"/status"); code != "200" {
		t.Errorf("curl -u ops:<token> /status: %s; want 200\n%s", code, out)
	}
	if code, _ := curlAdmin(t, "-u", "ops:wrong", admin+"/status"); code != "401" {
		t.Errorf("curl -u ops:wrong /status: %s; want 401", code)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, out := curlAdmin(t, admin+path); code != "200" {
			t.Errorf("curl %s without a token: %s; want 200\n%s", path, code, out)
		}
	}
	ping := `{"zen":"hi"}`
	if code, out := curlAdmin(t, "-H", "X-GitHub-Event: ping", "-H", "X-Hub-Signature-256: sha256="+hmacHex(secret, ping),
		"--data", ping, admin+"/webhook/git"); code != "200" || !strings.Contains(out, "pong") {
		t.Errorf("signed webhook ping without the admin token: %s; want 200 pong\n%s", code, out)
	}
	if code, out := curlAdmin(t, "-H", "X-GitHub-Event: ping", "--data", ping, admin+"/webhook/git"); code != "401" || strings.Contains(strings.ToLower(out), "www-authenticate") {
		t.Errorf("unsigned webhook ping: %s; want the webhook's own 401 (no Bearer challenge)\n%s", code, out)
	}

	if err := os.WriteFile(tokenFile+".new", []byte(rotated+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tokenFile+".new", tokenFile); err != nil {
		t.Fatal(err)
	}
	if code, _ := curlAdmin(t, "--oauth2-bearer", token, admin+"/metrics"); code != "401" {
		t.Errorf("old token after rotation: %s; want 401", code)
	}
	code, out := curlAdmin(t, "--oauth2-bearer", rotated, admin+"/metrics")
	if code != "200" || !strings.Contains(out, `edge_admin_requests_denied_total{reason="wrong_token"} 5`) {
		t.Errorf("rotated token: %s; want 200 with 5 wrong tokens counted (3 Bearer, 1 Basic, 1 old)\n%s", code, grepLine(out, "edge_admin"))
	}

	st := exec.Command(edgectl(t), "status", "--admin", p.admin)
	stOut, err := st.CombinedOutput()
	if err == nil {
		t.Errorf("edgectl status without a token against a protected agent succeeded:\n%s", stOut)
	}
	t.Logf("edgectl status without a token: %v: %s", err, stOut)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.exited
	if all := p.out.String(); strings.Contains(all, token) || strings.Contains(all, rotated) {
		t.Error("the agent's output contains the admin token")
	}
}

// grepLine returns the lines of s containing sub.
func grepLine(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAgentAdminClientCert runs the agent binary with its admin listener on TLS requiring
// client certificates of a CA: curl with one gets in (HTTP/2), without one gets 403 but
// for the probes, with one of another CA fails the handshake.
func TestAgentAdminClientCert(t *testing.T) {
	d := newDirRepo(t)
	d.add("alpha")
	ca := d.ca
	server, err := ca.Issue([]string{"127.0.0.1"}, testca.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.IssueClient("prometheus", testca.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := otherCA.IssueClient("stranger", testca.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	caFile := writeFile0600(t, "ca.pem", ca.CertPEM)
	p := launchAgentProc(t, d.ca, nil, nil, "--repo", d.git.URL, "--interval", "1h", "--key-dir", d.keyDir,
		"--admin-tls-cert", writeFile0600(t, "admin.crt", server.ChainPEM), "--admin-tls-key", writeFile0600(t, "admin.key", server.KeyPEM),
		"--admin-client-ca", caFile)
	admin := "https://" + p.admin
	p.waitFor("ready over TLS", 60*time.Second, func() bool { code, _ := curlAdmin(t, "--cacert", caFile, admin+"/readyz"); return code == "200" })

	withCert := []string{"--cacert", caFile, "--cert", writeFile0600(t, "client.crt", client.ChainPEM), "--key", writeFile0600(t, "client.key", client.KeyPEM)}
	for _, path := range []string{"/status", "/metrics"} {
		if code, out := curlAdmin(t, append(withCert, admin+path)...); code != "200" {
			t.Errorf("curl %s with a client certificate: %s\n%s", path, code, out)
		}
		if code, out := curlAdmin(t, "--cacert", caFile, admin+path); code != "403" {
			t.Errorf("curl %s without a client certificate: %s; want 403\n%s", path, code, out)
		}
		strangerArgs := []string{"--cacert", caFile, "--cert", writeFile0600(t, "s.crt", stranger.ChainPEM), "--key", writeFile0600(t, "s.key", stranger.KeyPEM), admin + path}
		if code, out := curlAdmin(t, strangerArgs...); code != "000" {
			t.Errorf("curl %s with a certificate of another CA: %s; want the handshake refused\n%s", path, code, out)
		} else {
			t.Logf("curl %s with a certificate of another CA: %s", path, grepLine(out, "curl:"))
		}
	}
	code, out := curlAdmin(t, append(withCert, "--http2", admin+"/status")...)
	if code != "200" || !strings.Contains(out, "HTTP/2 200") || !strings.Contains(out, `"commit"`) {
		t.Errorf("curl --http2 /status with a client certificate: %s; want HTTP/2 200 and the status JSON\n%s", code, out)
	}
	if code, _ := curlAdmin(t, "--cacert", caFile, admin+"/healthz"); code != "200" {
		t.Errorf("curl /healthz without a client certificate: %s; want 200", code)
	}
}

// TestExampleKubernetesAdminAccess: the DaemonSet's admin listener is on the pod network, so
// it must need a token (or client certificates) the edge container has mounted, else the
// agent refuses to start.
func TestExampleKubernetesAdminAccess(t *testing.T) {
	docs := k8sDocs(t, filepath.Join(exRepoRoot(t), "examples", "deploy", "kubernetes"))
	env := docs["ConfigMap/edge-agent"].Data
	if host, _, _ := strings.Cut(env["EDGE_ADMIN_LISTEN"], ":"); host == "127.0.0.1" || host == "localhost" {
		t.Skipf("admin listener %q is on loopback", env["EDGE_ADMIN_LISTEN"])
	}
	var edge k8sContainer
	for _, c := range docs["DaemonSet/edge"].Spec.Template.Spec.Containers {
		if c.Name == "edge" {
			edge = c
		}
	}
	token, ca := env["EDGE_ADMIN_TOKEN_FILE"], env["EDGE_ADMIN_CLIENT_CA"]
	switch {
	case token == "" && ca == "":
		t.Errorf("EDGE_ADMIN_LISTEN %q is off loopback without EDGE_ADMIN_TOKEN_FILE or EDGE_ADMIN_CLIENT_CA: the agent refuses to start", env["EDGE_ADMIN_LISTEN"])
	case token != "" && mountedAt(edge, token) == "":
		t.Errorf("EDGE_ADMIN_TOKEN_FILE %s is in no volume of the edge container", token)
	}
}
