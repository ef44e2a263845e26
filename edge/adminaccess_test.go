package edge

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
)

// adminTestToken is long and random-looking enough not to trigger the short-token warning.
const adminTestToken = "c2VjcmV0LWFkbWluLXRva2VuLTAx"

// writeSecret writes content to dir/name with mode 0600 and returns its path.
func writeSecret(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// replaceFile replaces path by a new file (a new inode) with content, as rotation tools
// and Kubernetes secret updates do.
func replaceFile(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// adminGet fetches url with c, with "Authorization: Bearer token" unless token is "", and
// returns the status, the WWW-Authenticate headers (joined with " | ") and the body.
func adminGet(t testing.TB, c *http.Client, url, token string) (int, string, string) {
	t.Helper()
	code, hdr, body, err := adminTry(c, url, token)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return code, hdr, body
}

// adminTry is adminGet returning the error instead of failing the test.
func adminTry(c *http.Client, url, token string) (int, string, string, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, "", "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.Join(resp.Header.Values("WWW-Authenticate"), " | "), string(b), err
}

// startTokenServer starts a server whose admin listener needs the token in a new file, with
// /status (answering whether it saw an Authorization header) and /hook (an open path)
// mounted, a snapshot published, and its log at debug level in logs.
func startTokenServer(t *testing.T, logs *syncBuffer) (*Server, string) {
	t.Helper()
	file := writeSecret(t, t.TempDir(), "admin-token", adminTestToken+"\n")
	srv := startServer(t, Options{HTTPListen: Off, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AdminAccess: AdminAccess{TokenFile: file, OpenPaths: []string{"/hook"}}})
	srv.AdminMux().HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "status; authorization header seen: %q", r.Header.Get("Authorization"))
	})
	srv.AdminMux().HandleFunc("/hook", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hook") })
	shop, blog, apps := routingSites(t)
	publish(t, srv, 1, shop, blog, apps)
	return srv, file
}

func TestAdminToken(t *testing.T) {
	var logs syncBuffer
	srv, _ := startTokenServer(t, &logs)
	admin := "http://" + srv.AdminAddr().String()
	c := &http.Client{Timeout: 10 * time.Second}
	const wantChallenges = `Bearer realm="edge admin" | Basic realm="edge admin", charset="UTF-8"`
	for _, path := range []string{"/status", "/metrics", "/nothing-here", "/healthz/../status", "/hook/x"} {
		for _, tok := range []string{"", "wrong-" + adminTestToken, adminTestToken[:len(adminTestToken)-1], adminTestToken + "x"} {
			code, challenge, body := adminGet(t, c, admin+path, tok)
			if code != 401 || challenge != wantChallenges || strings.TrimSpace(body) != "unauthorized" {
				t.Errorf("%s with token %q: %d, WWW-Authenticate %q, body %q; want 401, %q, unauthorized", path, tok, code, challenge, body, wantChallenges)
			}
		}
	}
	code, _, body := adminGet(t, c, admin+"/status", adminTestToken)
	if code != 200 || !strings.HasSuffix(body, `seen: ""`) {
		t.Errorf("/status with the token: %d %q; want 200 with the Authorization header removed", code, body)
	}
	code, _, metrics := adminGet(t, c, admin+"/metrics", adminTestToken)
	if code != 200 || !strings.Contains(metrics, `edge_admin_requests_denied_total{reason="wrong_token"} 15`) ||
		!strings.Contains(metrics, `edge_admin_requests_denied_total{reason="missing_token"} 5`) {
		t.Errorf("/metrics with the token: %d; want 200 counting 15 wrong and 5 missing tokens:\n%s", code, grepLines(metrics, "edge_admin"))
	}
	for _, path := range []string{"/healthz", "/readyz", "/hook"} {
		if code, _, body := adminGet(t, c, admin+path, ""); code != 200 {
			t.Errorf("%s without a token: %d %q; want 200", path, code, body)
		}
	}
	// The scheme is case-insensitive (RFC 9110 §11.1); Basic carries the token as password
	// (for browsers); anything else is no token.
	basic := func(user, pw string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw)) }
	for hdr, want := range map[string]int{"bearer " + adminTestToken: 200, "BEARER  " + adminTestToken: 200,
		basic("ops", adminTestToken): 200, basic("", adminTestToken): 200, basic(adminTestToken, ""): 401, basic("ops", "x"): 401,
		"Basic " + adminTestToken: 401, adminTestToken: 401, "Bearer": 401, "Bearer ": 401, "Token " + adminTestToken: 401} {
		req, _ := http.NewRequest("GET", admin+"/status", nil)
		req.Header.Set("Authorization", hdr)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Authorization %q: %d; want %d", hdr, resp.StatusCode, want)
		}
	}
	// Endpoints mounted after Start are protected too.
	srv.AdminMux().HandleFunc("/later", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "later") })
	if code, _, _ := adminGet(t, c, admin+"/later", ""); code != 401 {
		t.Errorf("/later mounted after Start, without a token: %d; want 401", code)
	}
	if code, _, body := adminGet(t, c, admin+"/later", adminTestToken); code != 200 || body != "later" {
		t.Errorf("/later with the token: %d %q", code, body)
	}
	if strings.Contains(logs.String(), adminTestToken) || strings.Contains(metrics, adminTestToken) {
		t.Error("the token appears in the log or the metrics")
	}
	if !strings.Contains(logs.String(), "reason=wrong_token") {
		t.Errorf("no debug line for a denied request in the log:\n%s", logs.String())
	}
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAdminTokenRotation: the token file is re-read when it changes, replaced or rewritten
// in place; while it is missing, empty or malformed every request is refused.
func TestAdminTokenRotation(t *testing.T) {
	var logs syncBuffer
	srv, file := startTokenServer(t, &logs)
	status := "http://" + srv.AdminAddr().String() + "/status"
	c := &http.Client{Timeout: 10 * time.Second}
	want := func(step, tok string, code int) {
		t.Helper()
		if got, _, _ := adminGet(t, c, status, tok); got != code {
			t.Errorf("%s: token %q: %d; want %d", step, tok, got, code)
		}
	}
	want("start", adminTestToken, 200)
	second := "second-token-0123456789abcdef"
	replaceFile(t, file, second+"\n")
	want("after a rename over the file", adminTestToken, 401)
	want("after a rename over the file", second, 200)

	third := "third-token-0123456789abcdef-longer"
	if err := os.WriteFile(file, []byte(third+"\r\n"), 0o600); err != nil { // in place, CRLF
		t.Fatal(err)
	}
	want("after an in-place rewrite", second, 401)
	want("after an in-place rewrite", third, 200)

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	want("file removed", third, 401)
	replaceFile(t, file, "")
	want("file empty", third, 401)
	want("file empty", "", 401)
	replaceFile(t, file, "two\nlines\n")
	want("two lines", "two", 401)
	replaceFile(t, file, third)
	want("restored without a newline", third, 200)
	want("no token", "", 401)
	if code, _, _ := adminGet(t, c, "http://"+srv.AdminAddr().String()+"/healthz", ""); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	out := logs.String()
	for _, tok := range []string{adminTestToken, second, third, "lines"} {
		if strings.Contains(out, tok) {
			t.Errorf("the log contains token %q", tok)
		}
	}
	for _, line := range []string{"admin token reloaded", "admin token file unreadable", "is empty", "usable again"} {
		if !strings.Contains(out, line) {
			t.Errorf("log lacks %q:\n%s", line, out)
		}
	}
}

// TestAdminAccessRefused: Start refuses what cannot work or exposes the admin listener, and
// leaves nothing listening.
func TestAdminAccessRefused(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeAdminCert(t, dir, "admin.example.test")
	caFile := writeCAFile(t)
	for name, tt := range map[string]struct {
		admin string
		a     AdminAccess
		want  string
	}{
		"missing token file":   {"127.0.0.1:0", AdminAccess{TokenFile: filepath.Join(dir, "nope")}, "no such file"},
		"empty token file":     {"127.0.0.1:0", AdminAccess{TokenFile: writeSecret(t, dir, "empty", "\n")}, "is empty"},
		"token with a space":   {"127.0.0.1:0", AdminAccess{TokenFile: writeSecret(t, dir, "space", "abc def-0123456789")}, "a space"},
		"token on two lines":   {"127.0.0.1:0", AdminAccess{TokenFile: writeSecret(t, dir, "two", "abcdef0123456789\nx\n")}, "a second line"},
		"token file too big":   {"127.0.0.1:0", AdminAccess{TokenFile: writeSecret(t, dir, "big", strings.Repeat("a", 5000))}, "over 4096 bytes"},
		"client CA, no TLS":    {"127.0.0.1:0", AdminAccess{ClientCA: caFile}, "needs the admin listener on TLS"},
		"certificate, no key":  {"127.0.0.1:0", AdminAccess{TLSCert: certFile}, "both a certificate and a key"},
		"key and cert swapped": {"127.0.0.1:0", AdminAccess{TLSCert: keyFile, TLSKey: certFile}, "admin TLS certificate"},
		"CA file not PEM":      {"127.0.0.1:0", AdminAccess{TLSCert: certFile, TLSKey: keyFile, ClientCA: writeSecret(t, dir, "ca", "x")}, "no PEM certificate"},
		"exposed, no creds":    {"0.0.0.0:0", AdminAccess{}, "not on loopback"},
		"exposed, TLS only":    {"0.0.0.0:0", AdminAccess{TLSCert: certFile, TLSKey: keyFile}, "not on loopback"},
	} {
		srv := NewServer(Options{Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", AdminListen: tt.admin, AdminAccess: tt.a, Logger: quietLogger})
		err := srv.Start(context.Background())
		if err == nil {
			srv.Shutdown(context.Background())
			t.Errorf("%s: Start succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want it to say %q", name, err, tt.want)
		}
		if strings.HasPrefix(name, "exposed") && !errors.Is(err, ErrAdminExposed) {
			t.Errorf("%s: %v is not ErrAdminExposed", name, err)
		}
		if strings.Contains(err.Error(), "0123456789") {
			t.Errorf("%s: the error quotes the token: %v", name, err)
		}
		if srv.Addr() != nil || srv.AdminAddr() != nil {
			t.Errorf("%s: listening after a failed Start", name)
		}
	}
}

// TestAdminExposedAllowed: a non-loopback admin listener starts with a token, or with
// Insecure and a loud warning; a world-readable token file is warned about.
func TestAdminExposedAllowed(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	file := writeSecret(t, t.TempDir(), "token", adminTestToken)
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Options{AdminListen: "0.0.0.0:0", AdminAccess: AdminAccess{TokenFile: file}, Logger: log})
	if code, _, _ := adminGet(t, &http.Client{}, "http://127.0.0.1:"+port(srv.AdminAddr())+"/metrics", ""); code != 401 {
		t.Errorf("exposed /metrics without a token: %d; want 401", code)
	}
	if !strings.Contains(logs.String(), "readable by other users") {
		t.Errorf("no warning about a world-readable token file:\n%s", logs.String())
	}
	srv = startServer(t, Options{AdminListen: "0.0.0.0:0", AdminAccess: AdminAccess{Insecure: true}, Logger: log})
	if code, _, _ := adminGet(t, &http.Client{}, "http://127.0.0.1:"+port(srv.AdminAddr())+"/metrics", ""); code != 200 {
		t.Errorf("insecure exposed /metrics: %d; want 200", code)
	}
	if !strings.Contains(logs.String(), "INSECURE") {
		t.Errorf("no warning for an insecure exposed admin listener:\n%s", logs.String())
	}
}

// writeAdminCert writes a server certificate for host from the test CA and its key into
// dir, and returns their paths.
func writeAdminCert(t testing.TB, dir, host string) (string, string) {
	t.Helper()
	leaf, err := ca(t).CA.Issue([]string{host, "127.0.0.1"}, edgetest.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return writeSecret(t, dir, "admin.crt", string(leaf.ChainPEM)), writeSecret(t, dir, "admin.key", string(leaf.KeyPEM))
}

// tlsAdminClient returns a client trusting the test CA, presenting cert if not nil.
func tlsAdminClient(t testing.TB, cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: ca(t).Pool()}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// BenchmarkAdminGuard: the guard's cost per request, a stat of the token file and two
// SHA-256 included, against an open path.
func BenchmarkAdminGuard(b *testing.B) {
	srv := NewServer(Options{Logger: quietLogger, AdminAccess: AdminAccess{TokenFile: writeSecret(b, b.TempDir(), "t", adminTestToken)}})
	setup, err := srv.prepareAdmin(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if err != nil {
		b.Fatal(err)
	}
	for name, tok := range map[string]string{"open": "", "token": adminTestToken, "wrong": "nope"} {
		b.Run(name, func(b *testing.B) {
			path := "/status"
			if name == "open" {
				path = "/healthz"
			}
			req, _ := http.NewRequest("GET", path, nil)
			w := &discardWriter{h: http.Header{}}
			for b.Loop() {
				req.Header.Set("Authorization", "Bearer "+tok)
				setup.handler.ServeHTTP(w, req)
			}
			if want := map[string]int{"open": 0, "token": 0, "wrong": 401}[name]; w.code != want {
				b.Errorf("status %d; want %d", w.code, want)
			}
		})
	}
}
