package tests

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
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

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
	"github.com/edgectl/edge/tests/testenv"
)

// helloBackend is an app answering "hello from <host>".
func helloBackend(t *testing.T) *httptest.Server {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.Host)
	}))
	t.Cleanup(backend.Close)
	return backend
}

// dirRepo is a config repo served by a real git HTTP server, with its keys in a local key
// directory and every site proxying to one backend.
type dirRepo struct {
	t       *testing.T
	ca      *testca.CA
	keyDir  string
	repo    *testenv.GitRepo
	git     *testenv.GitHTTP
	backend string
}

func newDirRepo(t *testing.T) *dirRepo {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	keyDir := filepath.Join(t.TempDir(), "keys")
	if err := os.Mkdir(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	repo := testenv.NewGitRepo(t)
	return &dirRepo{t: t, ca: ca, keyDir: keyDir, repo: repo, git: testenv.StartGitHTTP(t, repo.Bare, nil), backend: helloBackend(t).URL}
}

// write writes site name (host name.example.test) and its key; nothing is committed.
func (d *dirRepo) write(name string) {
	d.t.Helper()
	s := sitegen.Site{Name: name, Hosts: []string{name + ".example.test"}, Upstreams: []string{d.backend},
		Key: schema.KeyRef{Mount: "secret", Path: "edge/" + name, Field: "key"}}
	if _, err := sitegen.WriteSite(d.repo.Dir, s, sitegen.Options{CA: d.ca, KeyDir: d.keyDir}); err != nil {
		d.t.Fatal(err)
	}
}

// add writes site name and commits it; it returns the commit.
func (d *dirRepo) add(name string) string {
	d.t.Helper()
	d.write(name)
	return d.repo.Commit("add "+name, nil)
}

// TestAgentSignaturePolicy runs the agent binary with --require-signed-by against a real
// git server: commits signed by a trusted key are served; unsigned commits and commits
// signed by another key are rejected with the reason while the last signed commit keeps
// serving; a new signed commit recovers.
func TestAgentSignaturePolicy(t *testing.T) {
	d := newDirRepo(t)
	repo, writeSite := d.repo, d.write
	trusted, trustedPub := testenv.NewPGPKey(t, "Release Manager")
	stranger, _ := testenv.NewPGPKey(t, "Stranger")
	ring := filepath.Join(t.TempDir(), "trusted.asc")
	if err := os.WriteFile(ring, trustedPub, 0o644); err != nil {
		t.Fatal(err)
	}

	writeSite("alpha")
	signed := repo.CommitSigned(trusted, "alpha, signed", nil)
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--interval", "200ms", "--key-dir", d.keyDir, "--require-signed-by", ring)
	p.waitFor("alpha served", 20*time.Second, func() bool { return p.serves("alpha.example.test") })
	st := p.status()
	if st.Serving.Commit != signed || !strings.Contains(st.Serving.Signer, "Release Manager") {
		t.Errorf("serving %s signed by %q; want %s signed by Release Manager", st.Serving.Commit, st.Serving.Signer, signed)
	}

	for _, tc := range []struct {
		name   string
		key    bool // sign with the stranger's key, else unsigned
		reason string
	}{
		{"unsigned", false, "unsigned"},
		{"signed by an untrusted key", true, "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeSite("beta")
			var c string
			if tc.key {
				c = repo.CommitSigned(stranger, "beta, "+tc.name, nil)
			} else {
				c = repo.CommitSigned(nil, "beta, "+tc.name, nil)
			}
			p.waitFor("rejection", 20*time.Second, func() bool { r := p.status().Rejected; return r != nil && r.Commit == c })
			st := p.status()
			if !strings.Contains(st.Rejected.Error, tc.reason) || !strings.Contains(st.Rejected.Error, c) {
				t.Errorf("rejection %q; want the commit and %q", st.Rejected.Error, tc.reason)
			}
			if st.Serving.Commit != signed || !p.serves("alpha.example.test") {
				t.Errorf("serving %s; want still %s with alpha served", st.Serving.Commit, signed)
			}
			if _, _, _, err := p.get("beta.example.test"); err == nil {
				t.Error("beta, from a refused commit, is served")
			}
			out, err := exec.Command(edgectl(t), "status", "--admin", p.admin).CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), tc.reason) {
				t.Errorf("edgectl status: %v; want exit 1 naming %q:\n%s", err, tc.reason, out)
			}
			// Back to the served commit (history rewritten): nothing is rejected any more.
			repo.Git("reset", "--quiet", "--hard", signed)
			repo.ForcePush()
			p.waitFor("rejection cleared", 20*time.Second, func() bool { return p.status().Rejected == nil })
		})
	}

	t.Run("a signed commit is served again", func(t *testing.T) {
		writeSite("beta")
		c := repo.CommitSigned(trusted, "beta, signed", nil)
		p.waitFor("beta served", 20*time.Second, func() bool { return p.serves("beta.example.test") })
		if st := p.status(); st.Serving.Commit != c || st.Rejected != nil {
			t.Errorf("serving %s (rejected %+v); want %s", st.Serving.Commit, st.Rejected, c)
		}
		out, err := exec.Command(edgectl(t), "status", "--admin", p.admin).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "signed by ") {
			t.Errorf("edgectl status: %v; want exit 0 and the signer:\n%s", err, out)
		}
	})
}

// TestAgentVaultTokenRenewal runs the agent binary on AppRole tokens that live 3s and at
// most 6s: the agent renews each token while it can, logs in again when it cannot, and
// still reads keys for new sites long after the first token died.
func TestAgentVaultTokenRenewal(t *testing.T) {
	vault := testenv.StartVault(t)
	policy, err := os.ReadFile("../examples/vault/edge-policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	vault.WritePolicy(t, "edge", string(policy))
	vault.EnableAppRole(t)
	roleID, secretID := vault.CreateAppRole(t, "edge", []string{"edge"}, map[string]any{"token_ttl": "3s", "token_max_ttl": "6s"})
	secretFile := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(secretFile, []byte(secretID), 0o600); err != nil {
		t.Fatal(err)
	}
	backend := helloBackend(t)
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	repo := testenv.NewGitRepo(t)
	git := testenv.StartGitHTTP(t, repo.Bare, nil)
	addSite := func(name string) {
		t.Helper()
		s := sitegen.Site{Name: name, Hosts: []string{name + ".example.test"}, Upstreams: []string{backend.URL},
			Key: schema.KeyRef{Mount: "secret", Path: "edge/" + name, Field: "key"}}
		g, err := sitegen.WriteSite(repo.Dir, s, sitegen.Options{CA: ca})
		if err != nil {
			t.Fatal(err)
		}
		vault.PutKV(t, "secret", "edge/"+name, map[string]any{"key": string(g.Leaf.KeyPEM)})
		repo.Commit("add "+name, nil)
	}
	addSite("first")
	p := startAgentProc(t, ca, nil, "--repo", git.URL, "--interval", "300ms", "--keys", "vault", "--log-level", "debug",
		"--vault-addr", vault.Addr, "--vault-role-id", roleID, "--vault-secret-id-file", secretFile)
	p.waitFor("first served", 20*time.Second, func() bool { return p.serves("first.example.test") })

	// New sites, each needing a read, until one is added 7s after the first was served:
	// the first token (logged in before that) is then past its 6s max TTL, however slowly
	// the machine started the agent or serves each site.
	start := time.Now()
	for i := 0; ; i++ {
		late := time.Since(start) >= 7*time.Second
		name := fmt.Sprintf("site%d", i)
		addSite(name)
		p.waitFor(name+" served", 20*time.Second, func() bool { return p.serves(name + ".example.test") })
		if late {
			break
		}
		time.Sleep(time.Second)
	}
	out := p.out.String()
	logins, renewals := strings.Count(out, "vault: logged in with approle"), strings.Count(out, "vault: token renewed")
	t.Logf("over %v: %d logins, %d renewals", time.Since(start).Round(time.Second), logins, renewals)
	if logins < 2 {
		t.Errorf("%d AppRole logins; want >= 2 (a new login once the 6s max TTL ends renewal)", logins)
	}
	if renewals < 1 {
		t.Errorf("%d token renewals; want >= 1 (a 3s token renewed before its max TTL)", renewals)
	}
	if strings.Contains(out, "permission denied") || strings.Contains(out, "Code: 403") {
		t.Errorf("a request was refused (expired token used?):\n%s", out)
	}
	for _, s := range p.status().Sites {
		if s.State != "serving" {
			t.Errorf("site %s is %s: %s", s.Name, s.State, s.Error)
		}
	}
}

// TestAgentPollNow: with a one-hour poll interval, a change is served right away after
// SIGHUP, and after a GitHub-style push webhook (HMAC-signed), here sent to the webhook's
// own listener (--webhook-listen), which serves nothing else.
func TestAgentPollNow(t *testing.T) {
	d := newDirRepo(t)
	addSite := d.add
	addSite("first")
	secret := "webhook secret"
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hookAddr := freeAddr(t)
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--ref", "main", "--interval", "1h", "--key-dir", d.keyDir,
		"--webhook-secret-file", secretFile, "--webhook-listen", hookAddr)
	p.waitFor("first served", 20*time.Second, func() bool { return p.serves("first.example.test") })

	t.Run("SIGHUP", func(t *testing.T) {
		addSite("second")
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		d := p.waitFor("second served", 10*time.Second, func() bool { return p.serves("second.example.test") })
		t.Logf("SIGHUP to served: %v", d)
	})

	t.Run("webhook", func(t *testing.T) {
		c := addSite("third")
		body := fmt.Sprintf(`{"ref":"refs/heads/main","after":%q}`, c)
		post := func(addr, sig string) int {
			req, err := http.NewRequest("POST", "http://"+addr+"/webhook/git", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-GitHub-Event", "push")
			req.Header.Set("X-Hub-Signature-256", sig)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for _, addr := range []string{p.admin, hookAddr} {
			if code := post(addr, "sha256="+hmacHex("wrong secret", body)); code != http.StatusUnauthorized {
				t.Errorf("webhook on %s with a bad signature: %d; want 401", addr, code)
			}
		}
		if resp, err := http.Get("http://" + p.admin + "/debug/pprof/cmdline"); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /debug/pprof/cmdline without --debug-pprof: %v %v; want 404", resp, err)
		} else {
			resp.Body.Close()
		}
		// The webhook's own listener serves the webhook and nothing else.
		if resp, err := http.Get("http://" + hookAddr + "/status"); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /status on the webhook listener: %v %v; want 404", resp, err)
		} else {
			resp.Body.Close()
		}
		time.Sleep(500 * time.Millisecond)
		if p.serves("third.example.test") {
			t.Fatal("third served after a webhook with a bad signature")
		}
		start := time.Now()
		if code := post(hookAddr, "sha256="+hmacHex(secret, body)); code != http.StatusAccepted {
			t.Fatalf("webhook: %d; want 202", code)
		}
		p.waitFor("third served", 10*time.Second, func() bool { return p.serves("third.example.test") })
		t.Logf("webhook to served: %v", time.Since(start))
	})

	t.Run("a slow webhook client does not hold up SIGTERM", func(t *testing.T) {
		conn, err := net.Dial("tcp", hookAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// A request whose body never comes.
		fmt.Fprintf(conn, "POST /webhook/git HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\nX-GitHub-Event: push\r\n\r\n{")
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.exited:
			t.Logf("exited %v after SIGTERM (%v)", time.Since(start).Round(time.Millisecond), p.waitResult)
		case <-time.After(10 * time.Second):
			t.Fatal("agent still running 10s after SIGTERM, held by a slow webhook client")
		}
		if p.waitResult != nil {
			t.Errorf("exit: %v; want 0", p.waitResult)
		}
	})
}

// hmacHex is the hex HMAC-SHA256 of body under secret, as GitHub signs webhooks.
func hmacHex(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

// TestAgentDrainsWebSockets: on SIGTERM the agent binary keeps an upgraded connection
// working while it drains, and closes it when --drain-timeout passes, then exits 0.
func TestAgentDrainsWebSockets(t *testing.T) {
	d := newDirRepo(t)
	ws := httptest.NewServer(http.HandlerFunc(testenv.EchoUpgrade))
	t.Cleanup(ws.Close)
	d.backend = ws.URL
	d.add("chat")
	p := startAgentProc(t, d.ca, []string{"EDGE_DEBUG_PPROF=true"}, "--repo", d.git.URL, "--key-dir", d.keyDir, "--drain-timeout", "1500ms")
	if resp, err := http.Get("http://" + p.admin + "/debug/pprof/cmdline"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("EDGE_DEBUG_PPROF=true: GET /debug/pprof/cmdline: %v %v; want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	p.waitFor("chat handshake", 20*time.Second, func() bool { _, _, _, err := p.get("chat.example.test"); return err == nil })

	conn, err := tls.Dial("tcp", p.https, &tls.Config{RootCAs: d.ca.Pool(), ServerName: "chat.example.test", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: chat.example.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	echo := func(msg string) error {
		io.WriteString(conn, msg+"\n")
		line, err := br.ReadString('\n')
		if err == nil && line != "echo "+msg+"\n" {
			err = fmt.Errorf("got %q", line)
		}
		return err
	}
	if err := echo("before"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := echo("while draining"); err != nil {
		t.Errorf("WebSocket during the drain: %v", err)
	}
	if _, err := br.ReadString('\n'); err == nil {
		t.Error("the WebSocket stayed open after the drain timeout")
	}
	closedAfter := time.Since(start)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("agent still running 10s after SIGTERM with --drain-timeout 1500ms")
	}
	t.Logf("WebSocket closed %v after SIGTERM; exit %v", closedAfter.Round(time.Millisecond), p.waitResult)
	if closedAfter < 1400*time.Millisecond || closedAfter > 5*time.Second {
		t.Errorf("WebSocket closed %v after SIGTERM; want about the 1.5s drain timeout", closedAfter)
	}
	if p.waitResult != nil {
		t.Errorf("exit: %v; want 0", p.waitResult)
	}
}
