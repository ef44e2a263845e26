package edge

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
)

// clientCert issues a client certificate from c (ECDSA).
func clientCert(t testing.TB, c *edgetest.CA, name string) *tls.Certificate {
	t.Helper()
	leaf, err := c.IssueClient(name, edgetest.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return &leaf.TLS
}

// TestAdminClientCert: over TLS with a client CA, a certificate of that CA gets in; one of
// another CA, or a server certificate of that CA, fails the handshake; none gets 403 but
// for the probes. With a token as well, both are needed.
func TestAdminClientCert(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeAdminCert(t, dir, "admin.example.test")
	srv := startServer(t, Options{HTTPListen: Off, AdminAccess: AdminAccess{TLSCert: certFile, TLSKey: keyFile, ClientCA: writeCAFile(t)}})
	srv.AdminMux().HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("status for " + r.TLS.PeerCertificates[0].Subject.CommonName))
	})
	admin := "https://" + srv.AdminAddr().String()

	good := tlsAdminClient(t, clientCert(t, ca(t), "prometheus"))
	resp, err := good.Get(admin + "/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Errorf("/status with a client certificate of the CA: %d over HTTP/%d; want 200 over HTTP/2", resp.StatusCode, resp.ProtoMajor)
	}
	if code, _, body := adminGet(t, good, admin+"/metrics", ""); code != 200 || !strings.Contains(body, `edge_admin_requests_denied_total{reason="no_client_certificate"} 0`) {
		t.Errorf("/metrics with a client certificate: %d; want 200 with the denial counter at 0", code)
	}

	none := tlsAdminClient(t, nil)
	for path, want := range map[string]int{"/status": 403, "/metrics": 403, "/debug/pprof/": 403, "/healthz": 200, "/readyz": 503} {
		if code, _, body := adminGet(t, none, admin+path, ""); code != want {
			t.Errorf("%s without a client certificate: %d %q; want %d", path, code, body, want)
		}
	}
	serverLeaf, err := ca(t).CA.Issue([]string{"client.example.test"}, edgetest.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for name, cert := range map[string]*tls.Certificate{
		"a client certificate of another CA":  clientCert(t, edgetest.NewCA(t), "intruder"),
		"a server certificate of the same CA": &serverLeaf.TLS,
	} {
		code, _, _, err := adminTry(tlsAdminClient(t, cert), admin+"/healthz", "")
		if err == nil {
			t.Errorf("%s: %d; want the handshake refused", name, code)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestAdminClientCertAndToken: with both, a request needs both.
func TestAdminClientCertAndToken(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeAdminCert(t, dir, "admin.example.test")
	srv := startServer(t, Options{HTTPListen: Off, AdminAccess: AdminAccess{TLSCert: certFile, TLSKey: keyFile,
		ClientCA: writeCAFile(t), TokenFile: writeSecret(t, dir, "token", adminTestToken)}})
	status := "https://" + srv.AdminAddr().String() + "/status"
	with, without := tlsAdminClient(t, clientCert(t, ca(t), "ops")), tlsAdminClient(t, nil)
	for _, tt := range []struct {
		name  string
		c     *http.Client
		token string
		want  int
	}{
		{"certificate and token", with, adminTestToken, 404}, // nothing mounted at /status: 404 is past the check
		{"certificate, no token", with, "", 401},
		{"certificate, wrong token", with, "nope", 401},
		{"token, no certificate", without, adminTestToken, 403},
	} {
		if code, _, _ := adminGet(t, tt.c, status, tt.token); code != tt.want {
			t.Errorf("%s: %d; want %d", tt.name, code, tt.want)
		}
	}
}

// TestAdminTLSCertReload: a new certificate written over the files is served from the next
// handshake; a half-written pair keeps the previous one.
func TestAdminTLSCertReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeAdminCert(t, dir, "one.example.test")
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: "127.0.0.1:0", AdminAccess: AdminAccess{TLSCert: certFile, TLSKey: keyFile}})
	served := func() string {
		t.Helper()
		conn, err := tls.Dial("tcp", srv.AdminAddr().String(), &tls.Config{RootCAs: ca(t).Pool(), ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return leafOf(conn.ConnectionState()).Subject.CommonName
	}
	if got := served(); got != "one.example.test" {
		t.Fatalf("served %q; want one.example.test", got)
	}
	other := edgetest.NewCA(t)
	leaf, err := other.CA.Issue([]string{"two.example.test"}, edgetest.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, certFile, string(leaf.ChainPEM)) // the key does not match yet
	if got := served(); got != "one.example.test" {
		t.Errorf("with a certificate not matching the key: served %q; want the previous one", got)
	}
	two, err := ca(t).CA.Issue([]string{"two.example.test", "127.0.0.1"}, edgetest.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, keyFile, string(two.KeyPEM))
	replaceFile(t, certFile, string(two.ChainPEM))
	if got := served(); got != "two.example.test" {
		t.Errorf("after rotation: served %q; want two.example.test", got)
	}
}
