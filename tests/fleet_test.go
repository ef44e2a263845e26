package tests

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/fleet"
	"github.com/edgectl/edge/tests/testenv"
)

// sharedPortAddrs returns host:port for each of ips, all with one port that was free on
// every one of them at the time of the call.
func sharedPortAddrs(t *testing.T, ips ...string) []string {
	t.Helper()
	for range 50 {
		first, err := net.Listen("tcp", net.JoinHostPort(ips[0], "0"))
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(first.Addr().String())
		lns := []net.Listener{first}
		for _, ip := range ips[1:] {
			if l, err := net.Listen("tcp", net.JoinHostPort(ip, port)); err == nil {
				lns = append(lns, l)
			}
		}
		for _, l := range lns {
			l.Close()
		}
		if len(lns) == len(ips) {
			addrs := make([]string, len(ips))
			for i, ip := range ips {
				addrs[i] = net.JoinHostPort(ip, port)
			}
			return addrs
		}
	}
	t.Fatal("no port free on every address")
	return nil
}

// startAgentAt is startAgentProc with the admin listener at admin (startAgentProc picks a
// free port on 127.0.0.1): the agents of a DNS name share one port on several addresses.
// With tlsProbe, the admin listener serves TLS, and /readyz is asked with that client.
func startAgentAt(t *testing.T, d *dirRepo, admin string, tlsProbe *http.Client, env []string, args ...string) *agentProc {
	t.Helper()
	p := &agentProc{t: t, https: freeAddr(t), admin: admin, ca: d.ca, out: &testenv.SyncBuffer{}, exited: make(chan struct{})}
	args = append([]string{"agent", "--listen", p.https, "--http-listen", "off", "--admin", admin, "--access-log", "off",
		"--state-dir", filepath.Join(t.TempDir(), "state"), "--interval", "200ms", "--key-dir", d.keyDir}, args...)
	p.cmd = exec.Command(edgectl(t), args...)
	p.cmd.Env = append(p.cmd.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitResult = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		if p.stop(); t.Failed() {
			t.Logf("agent on %s:\n%s", admin, p.out.String())
		}
	})
	probe, url := http.DefaultClient, "http://"+admin+"/readyz"
	if tlsProbe != nil {
		probe, url = tlsProbe, "https://"+admin+"/readyz"
	}
	p.waitFor("ready", 60*time.Second, func() bool {
		resp, err := probe.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return p
}

// dnsFleet returns three admin addresses sharing one port on 127.0.0.2, .3 and .4, and a
// real DNS server (Knot) resolving agents.edge.test to them.
func dnsFleet(t *testing.T) ([]string, *testenv.DNSServer) {
	t.Helper()
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	return sharedPortAddrs(t, ips...), testenv.StartDNS(t, "edge.test", map[string][]string{"agents": ips})
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// fleetStatus runs `edgectl status` with args and EDGE_DNS_SERVER=dns, and returns its exit
// code, stdout and stderr.
func fleetStatus(t *testing.T, dns string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(edgectl(t), append([]string{"status"}, args...)...)
	cmd.Env = append(cmd.Environ(), fleet.DNSServerEnv+"="+dns)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// TestFleetStatusThreeAgents runs three agent binaries, their admin listeners on 127.0.0.2, .3 and .4
// behind one DNS name of a real DNS server (Knot); the third follows a mirror of the config
// repo that does not get the new commit. `edgectl status --fleet dns:...` shows it lagging
// and exits 1; `--wait` exits 0 once the mirror gets the commit and the third agent catches
// up. The first agent serves the same summary on /ui/api/fleet (--fleet-peers).
func TestFleetStatusThreeAgents(t *testing.T) {
	d := newDirRepo(t)
	c1 := d.add("alpha")
	mirror := filepath.Join(t.TempDir(), "mirror.git")
	d.repo.Git("clone", "--bare", "--quiet", d.repo.Bare, mirror)
	mirrorGit := testenv.StartGitHTTP(t, mirror, nil)

	admins, dns := dnsFleet(t)
	name := "dns:agents.edge.test:" + portOf(admins[0])
	agents := []*agentProc{
		startAgentAt(t, d, admins[0], nil, []string{fleet.DNSServerEnv + "=" + dns.Addr}, "--repo", d.git.URL, "--fleet-peers", name),
		startAgentAt(t, d, admins[1], nil, nil, "--repo", d.git.URL),
		startAgentAt(t, d, admins[2], nil, nil, "--repo", mirrorGit.URL),
	}
	waitServing := func(p *agentProc, commit string) {
		p.waitFor("commit "+commit[:12], 30*time.Second, func() bool { return p.status().Serving.Commit == commit })
	}
	for _, p := range agents {
		waitServing(p, c1)
	}
	if code, out, errOut := fleetStatus(t, dns.Addr, "--fleet", name); code != 0 || !strings.Contains(out, "converged: 3 of 3 agents serve "+c1[:12]) {
		t.Fatalf("all on %s: exit %d; want 0, converged\n%s%s", c1[:12], code, out, errOut)
	}

	c2 := d.add("beta")
	waitServing(agents[0], c2)
	waitServing(agents[1], c2)
	code, out, errOut := fleetStatus(t, dns.Addr, "--fleet", name)
	t.Logf("one lagging:\n%s", out)
	for _, h := range []string{
		"NOT converged: 2 of 3 agents serve " + c2[:12] + " (1 lagging, 0 rejecting, 0 unreachable)",
		c2[:12] + "  2 ", c1[:12] + "  1 ",
		admins[2] + " (agents.edge.test)  LAGGING  " + c1[:12],
		admins[0] + " (agents.edge.test)  current  " + c2[:12],
	} {
		if !strings.Contains(out, h) {
			t.Errorf("output lacks %q", h)
		}
	}
	if code != 1 {
		t.Errorf("one lagging: exit %d; want 1\n%s", code, errOut)
	}
	checkFleetJSON(t, dns.Addr, name, c1, c2, admins[2])
	checkFleetAPI(t, agents[0], fleet.Lagging, admins[2])

	// The pipeline's wait: started while the third lags, it ends when it has caught up.
	wait := exec.Command(edgectl(t), "status", "--fleet", name, "--want", c2[:8], "--wait", "2m")
	wait.Env = append(wait.Environ(), fleet.DNSServerEnv+"="+dns.Addr)
	var waitOut, waitErr testenv.SyncBuffer
	wait.Stdout, wait.Stderr = &waitOut, &waitErr
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- wait.Wait() }()
	agents[0].waitFor("status --wait waiting", 30*time.Second, func() bool { return strings.Contains(waitErr.String(), "waiting: 2 of 3 agents serve") })
	start := time.Now()
	d.repo.Git("push", "--quiet", mirror, "main")
	select {
	case err := <-done:
		t.Logf("--wait: converged %v after the mirror got the commit (exit %v)\n%s%s", time.Since(start).Round(time.Millisecond), err, waitErr.String(), waitOut.String())
		if err != nil || !strings.Contains(waitOut.String(), "converged: 3 of 3 agents serve "+c2[:12]) {
			t.Errorf("--wait: %v; want exit 0, converged", err)
		}
	case <-time.After(3 * time.Minute):
		_ = wait.Process.Kill()
		t.Fatalf("status --wait still running after 3m\n%s", waitErr.String())
	}
	checkFleetAPI(t, agents[0], fleet.Current, admins[2])
}

// checkFleetJSON checks status --fleet --json while the agent at lagging serves c1 and the
// others c2.
func checkFleetJSON(t *testing.T, dns, name, c1, c2, lagging string) {
	t.Helper()
	code, out, errOut := fleetStatus(t, dns, "--fleet", "--json", "--want", c2[:7], name)
	var s fleet.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("--json: %v\n%s%s", err, out, errOut)
	}
	if code != 1 || s.Converged || s.Target != c2 || len(s.Agents) != 3 || len(s.Commits) != 2 ||
		s.Commits[0].Commit != c2 || s.Commits[0].Agents != 2 || !s.Commits[0].Target || s.Commits[1].Commit != c1 {
		t.Errorf("--json: exit %d, %s; want 1, target %s served by 2, %s by 1", code, out, c2, c1)
	}
	for _, a := range s.Agents {
		want := fleet.Current
		if a.Addr == "http://"+lagging || a.Addr == lagging {
			want = fleet.Lagging
		}
		if a.State != want || a.CommitTime.IsZero() {
			t.Errorf("agent %s: %s, committed %v; want %s and a commit time", a.Addr, a.State, a.CommitTime, want)
		}
	}
}

// checkFleetAPI polls p's /ui/api/fleet (cached for a few seconds) until the agent at
// lagging is in state want, and checks the JSON the page reads.
func checkFleetAPI(t *testing.T, p *agentProc, want fleet.State, lagging string) {
	t.Helper()
	var doc struct {
		Agents  []struct{ Addr, Commit, State, Error string }
		Commits []struct {
			Commit string
			Agents int
		}
		Converged bool
	}
	p.waitFor("/ui/api/fleet: "+lagging+" "+string(want), 60*time.Second, func() bool {
		resp, err := http.Get("http://" + p.admin + fleet.APIPath)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || json.Unmarshal(b, &doc) != nil || len(doc.Agents) != 3 {
			t.Logf("GET %s: %d %s", fleet.APIPath, resp.StatusCode, b)
			return false
		}
		for _, a := range doc.Agents {
			if strings.HasSuffix(a.Addr, lagging) {
				return a.State == string(want)
			}
		}
		return false
	})
	if doc.Converged != (want == fleet.Current) || len(doc.Commits) == 0 {
		t.Errorf("/ui/api/fleet: %+v; want converged %v", doc, want == fleet.Current)
	}
}
