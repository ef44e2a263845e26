package tests

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
)

// guardedSite is a site requiring client certificates of clientCA (certs/clients-ca.pem)
// with basic auth on /admin from the Vault secret secret/edge-auth/guarded.
const guardedSite = `package edge

sites: guarded: {
	hosts: ["guarded.example.test"]
	cert: "certs/guarded.pem"
	key: path: "edge/guarded"
	client_auth: ca: "certs/clients-ca.pem"
	routes: {
		"/": upstreams: [%[1]q]
		"/admin": {
			upstreams: [%[1]q]
			basic_auth: {realm: "guarded admin", users: path: "edge-auth/guarded"}
		}
	}
}
`

func bcryptOf(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// TestAgentAuth: the agent binary serves a site with client_auth (CA bundle from the repo)
// and basic auth (users from Vault through the shipped policy): a client certificate is
// required in the handshake, credentials are checked and removed before the app; a
// password changed in Vault is served within polls, without a commit or a restart.
func TestAgentAuth(t *testing.T) {
	e := startAgentE2E(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "app authz=%q subject=%q", r.Header.Get("Authorization"), r.Header.Get("X-Client-Cert-Subject"))
	}))
	t.Cleanup(app.Close)
	clientCA, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	client, err := clientCA.IssueClient("ops-laptop", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	e.vault.PutKV(t, "secret", "edge-auth/guarded", map[string]any{"alice": bcryptOf(t, "first"), "bob": bcryptOf(t, "builder")})
	g, err := sitegen.WriteSite(e.repo.Dir, sitegen.Site{Name: "guarded", Hosts: []string{"guarded.example.test"}, Upstreams: []string{app.URL},
		Key: schema.KeyRef{Mount: "secret", Path: "edge/guarded", Field: "key"}}, sitegen.Options{CA: e.ca})
	if err != nil {
		t.Fatal(err)
	}
	e.vault.PutKV(t, "secret", "edge/guarded", map[string]any{"key": string(g.Leaf.KeyPEM)})
	commit := e.repo.CommitStrings("add guarded", map[string]string{
		"sites/guarded.cue":    fmt.Sprintf(guardedSite, app.URL),
		"certs/clients-ca.pem": string(clientCA.CertPEM),
	})
	cert := &client.TLS
	e.waitFor("guarded served", 20*time.Second, func() bool {
		code, _, _, err := authGet(e.agentProc, cert, "/", "", "")
		return err == nil && code == 200
	})

	if _, _, _, err := authGet(e.agentProc, nil, "/", "", ""); err == nil {
		t.Errorf("no client certificate: the request went through; want the handshake refused")
	}
	code, hdr, body, err := authGet(e.agentProc, cert, "/admin", "", "")
	if err != nil || code != 401 || hdr.Get("WWW-Authenticate") != `Basic realm="guarded admin", charset="UTF-8"` {
		t.Errorf("/admin without credentials: %d %v %q %v; want 401 with the realm", code, hdr, body, err)
	}
	for _, c := range []struct{ user, pw string }{{"alice", "wrong"}, {"mallory", "first"}, {"bob", "first"}} {
		if code, _, body, err := authGet(e.agentProc, cert, "/admin", c.user, c.pw); err != nil || code != 401 {
			t.Errorf("/admin as %s/%s: %d %q %v; want 401", c.user, c.pw, code, body, err)
		}
	}
	code, _, body, err = authGet(e.agentProc, cert, "/admin", "alice", "first")
	if err != nil || code != 200 || body != `app authz="" subject="CN=ops-laptop"` {
		t.Errorf("/admin as alice: %d %q %v; want 200 from the app, no Authorization, the certificate's subject", code, body, err)
	}

	// The password changes in Vault only: no commit, the same process.
	e.vault.PutKV(t, "secret", "edge-auth/guarded", map[string]any{"alice": bcryptOf(t, "second"), "bob": bcryptOf(t, "builder")})
	d := e.waitFor("the new password", 20*time.Second, func() bool {
		code, _, _, err := authGet(e.agentProc, cert, "/admin", "alice", "second")
		return err == nil && code == 200
	})
	t.Logf("password change in Vault served after %v (poll interval 300ms)", d)
	if code, _, _, err := authGet(e.agentProc, cert, "/admin", "alice", "first"); err != nil || code != 401 {
		t.Errorf("the old password after the change: %d %v; want 401", code, err)
	}
	if code, _, _, err := authGet(e.agentProc, cert, "/admin", "bob", "builder"); err != nil || code != 200 {
		t.Errorf("bob after alice's change: %d %v; want 200", code, err)
	}
	e.alive()
	if st := e.status(); st.Serving.Commit != commit {
		t.Errorf("serving %s; want %s, the commit that added the site (no commit since)", st.Serving.Commit, commit)
	}
	// The secret gone from Vault: the last good users keep serving, status says why.
	if err := e.vault.Client.KVv2("secret").DeleteMetadata(context.Background(), "edge-auth/guarded"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the failed users refresh reported", 20*time.Second, func() bool {
		return strings.Contains(siteNamed(e.status(), "guarded").Error, "users refresh failed")
	})
	if code, _, _, err := authGet(e.agentProc, cert, "/admin", "bob", "builder"); err != nil || code != 200 {
		t.Errorf("bob after the secret was deleted: %d %v; want 200 (the last good users)", code, err)
	}
	// A hash that is not one: the site keeps serving its last good users, and says why
	// without showing the hash.
	e.vault.PutKV(t, "secret", "edge-auth/guarded", map[string]any{"alice": bcryptOf(t, "second"), "carol": "hunter2-in-clear"})
	e.waitFor("the bad hash reported", 20*time.Second, func() bool {
		return strings.Contains(siteNamed(e.status(), "guarded").Error, `user "carol"`)
	})
	st := siteNamed(e.status(), "guarded")
	if st.State != reconcile.SiteStale || strings.Contains(st.Error, "hunter2") {
		t.Errorf("guarded with a bad hash: %s %q; want stale, the hash not shown", st.State, st.Error)
	}
	if code, _, _, err := authGet(e.agentProc, cert, "/admin", "bob", "builder"); err != nil || code != 200 {
		t.Errorf("bob while the new users are refused: %d %v; want 200 (the last good users)", code, err)
	}
	if out := e.out.String(); strings.Contains(out, "$2a$") || strings.Contains(out, "$2b$") || strings.Contains(out, "hunter2") {
		t.Error("agent output contains a password hash")
	}
}

// authGet asks https://guarded.example.test<path> of the agent with cert (none if nil)
// and Basic credentials user:pw (none if user is empty).
func authGet(p *agentProc, cert *tls.Certificate, path, user, pw string) (int, http.Header, string, error) {
	cfg := &tls.Config{RootCAs: p.ca.Pool(), ServerName: "guarded.example.test"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	tr := &http.Transport{
		TLSClientConfig: cfg,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", p.https)
		},
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "https://guarded.example.test"+path, nil)
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), nil
}
