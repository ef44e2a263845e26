package tests

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/tests/testca"
	"github.com/edgectl/edge/tests/testenv"
)

// agentProc is the edgectl agent binary running as a subprocess.
type agentProc struct {
	t          *testing.T
	cmd        *exec.Cmd
	https      string
	admin      string
	ca         *testca.CA
	out        *testenv.SyncBuffer
	exited     chan struct{}
	waitResult error
}

func startAgentProc(t *testing.T, ca *testca.CA, env []string, args ...string) *agentProc {
	t.Helper()
	return startAgentProcWrapped(t, ca, env, nil, args...)
}

// startAgentProcWrapped is startAgentProc with the agent run by the command wrap (e.g.
// prlimit with its flags, ending in "--"), which must exec it in its place.
func startAgentProcWrapped(t *testing.T, ca *testca.CA, env, wrap []string, args ...string) *agentProc {
	t.Helper()
	p := launchAgentProc(t, ca, env, wrap, args...)
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

// launchAgentProc is startAgentProcWrapped without waiting until the agent is ready.
func launchAgentProc(t *testing.T, ca *testca.CA, env, wrap []string, args ...string) *agentProc {
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
