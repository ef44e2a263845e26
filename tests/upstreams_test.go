package tests

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// namedApp is an app answering its name and counting its requests.
type namedApp struct {
	url  string
	hits atomic.Int64
}

func newNamedApp(t *testing.T, name string) *namedApp {
	a := &namedApp{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	a.url = s.URL
	return a
}

// TestAgentWeightedSticky runs the agent binary on a config repo whose route is weighted
// 3:1 and sticky: a fair split of cookie-less requests (within a binomial tolerance), then
// curl with a cookie jar pinned to one upstream across commits that add an upstream and
// change the weights, and moved (with a new cookie) by a commit that removes its upstream.
func TestAgentWeightedSticky(t *testing.T) {
	t.Parallel()
	curl := testenv.NeedTool(t, "curl", "curl")
	d := newDirRepo(t)
	apps := map[string]*namedApp{}
	for _, n := range []string{"a", "b", "c"} {
		apps[n] = newNamedApp(t, n)
	}
	d.write("canary") // its certificate and key; the declaration is replaced below
	commit := func(msg string, ups ...string) string {
		t.Helper()
		decl := fmt.Sprintf(`package edge

sites: canary: {
	hosts: ["canary.example.test"]
	cert: "certs/canary.pem"
	key: path: "edge/canary"
	routes: "/": {
		upstreams: [%s]
		sticky: {cookie: "edge_srv", max_age: "1h"}
	}
}
`, strings.Join(ups, ", "))
		if err := os.WriteFile(filepath.Join(d.repo.Dir, "sites", "canary.cue"), []byte(decl), 0o644); err != nil {
			t.Fatal(err)
		}
		return d.repo.Commit(msg, nil)
	}
	weighted := func(n string, w int) string { return fmt.Sprintf(`{url: %q, weight: %d}`, apps[n].url, w) }
	commit("3:1", weighted("a", 3), weighted("b", 1))
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--ref", "main", "--interval", "1h", "--key-dir", d.keyDir)
	p.waitFor("canary served", 20*time.Second, func() bool {
		code, _, _, err := p.get("canary.example.test")
		return err == nil && code == 200
	})

	// Cookie-less requests: split by the weights.
	a0, b0 := apps["a"].hits.Load(), apps["b"].hits.Load()
	const n, share = 400, 0.25
	c := keepAliveClient(p)
	for range n {
		res, err := c.Get("https://canary.example.test/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.ProtoMajor != 2 {
			t.Fatalf("GET: %s over %s", res.Status, res.Proto)
		}
	}
	gotB, total := apps["b"].hits.Load()-b0, apps["a"].hits.Load()-a0+apps["b"].hits.Load()-b0
	sd := math.Sqrt(float64(total) * share * (1 - share))
	t.Logf("3:1 split through the agent: b got %d of %d (want %.0f ± %.0f)", gotB, total, share*float64(total), 5*sd)
	if total != n || math.Abs(float64(gotB)-share*float64(total)) > 5*sd {
		t.Errorf("b got %d of %d requests; want %.0f ± %.0f", gotB, total, share*float64(total), 5*sd)
	}

	jar, caFile := filepath.Join(t.TempDir(), "jar"), filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, d.ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(p.https, ":")
	fetch := func() string {
		t.Helper()
		out, err := exec.Command(curl, "-sS", "--http2", "--cacert", caFile, "--resolve", "canary.example.test:"+port+":127.0.0.1",
			"-c", jar, "-b", jar, "https://canary.example.test:"+port+"/").CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		return string(out)
	}
	stays := func(want, when string) {
		t.Helper()
		for range 10 {
			if got := fetch(); got != want {
				t.Fatalf("%s: answered by %q; want %q (pinned)", when, got, want)
			}
		}
	}
	pinned := fetch()
	if b, _ := os.ReadFile(jar); !strings.Contains(string(b), "#HttpOnly_canary.example.test\tFALSE\t/\tTRUE\t") || !strings.Contains(string(b), "\tedge_srv\t") {
		t.Errorf("cookie jar:\n%s\nwant edge_srv, HttpOnly, Secure, Path=/", b)
	}
	stays(pinned, "pinned")

	reload := func(c string) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		p.waitFor("commit "+c+" served", 20*time.Second, func() bool { return p.status().Serving.Commit == c })
	}
	reload(commit("c added, weights changed", weighted("c", 5), weighted("b", 2), weighted("a", 1)))
	stays(pinned, "after a commit adding an upstream and changing the weights")

	var rest []string
	for _, n := range []string{"a", "b", "c"} {
		if n != pinned {
			rest = append(rest, weighted(n, 1))
		}
	}
	reload(commit("pinned upstream removed", rest...))
	moved := fetch()
	if moved == pinned {
		t.Fatalf("after its upstream was removed: still answered by %q", moved)
	}
	stays(moved, "pinned again after the removal")
}

// keepAliveClient is an HTTP/2 client of the agent's HTTPS listener, whatever the URL's
// host, trusting the agent's CA: one connection for many requests.
func keepAliveClient(p *agentProc) *http.Client {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.ca.Pool()},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", p.https)
		},
		ForceAttemptHTTP2: true,
	}
	p.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}
