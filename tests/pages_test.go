package tests

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// TestMaintenanceByCommit runs the agent binary against a real git server: a commit that
// switches the site's maintenance on answers every request 503 with the page and
// Retry-After (seen by Go's client and curl); a commit changing only the page file serves
// the new page; a commit switching it off serves the app again.
func TestMaintenanceByCommit(t *testing.T) {
	curl := testenv.NeedTool(t, "curl", "curl")
	d := newDirRepo(t)
	d.write("shop")
	siteFile := filepath.Join(d.repo.Dir, "sites", "shop.cue")
	plain, err := os.ReadFile(siteFile)
	if err != nil {
		t.Fatal(err)
	}
	page1 := "<h1>Back soon</h1>\n"
	d.repo.Commit("shop", map[string][]byte{"pages/maintenance.html": []byte(page1)})
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--interval", "200ms", "--key-dir", d.keyDir)
	p.waitFor("shop served", 20*time.Second, func() bool { return p.serves("shop.example.test") })

	on := insertInDecl(t, string(plain), []string{`maintenance: {retry_after: "2m", page: "pages/maintenance.html"}`})
	d.repo.Commit("shop: maintenance on", map[string][]byte{"sites/shop.cue": []byte(on)})
	p.waitFor("maintenance", 20*time.Second, func() bool { code, _, _ := pageGet(p, "/any/path"); return code == 503 })
	code, body, h := pageGet(p, "/any/path")
	if code != 503 || body != page1 || h.Get("Retry-After") != "120" || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("in maintenance: %d %q Retry-After %q Content-Type %q; want 503, the page, 120, text/html", code, body, h.Get("Retry-After"), h.Get("Content-Type"))
	}
	out := curlPage(t, curl, p, "/")
	for _, want := range []string{"HTTP/2 503", "retry-after: 120", "content-length: " + strconv.Itoa(len(page1)), page1} {
		if !strings.Contains(out, want) {
			t.Errorf("curl output lacks %q:\n%s", want, out)
		}
	}

	page2 := "<h1>Nearly done</h1>\n"
	d.repo.Commit("maintenance page only", map[string][]byte{"pages/maintenance.html": []byte(page2)})
	p.waitFor("the new page", 20*time.Second, func() bool { _, body, _ := pageGet(p, "/"); return body == page2 })

	d.repo.Commit("shop: maintenance off", map[string][]byte{"sites/shop.cue": plain})
	p.waitFor("the app again", 20*time.Second, func() bool { return p.serves("shop.example.test") })
}

// pageGet fetches https://shop.example.test<path> from the agent over HTTP/2.
func pageGet(p *agentProc, path string) (int, string, http.Header) {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.ca.Pool(), ServerName: "shop.example.test"},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", p.https)
		},
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://shop.example.test" + path)
	if err != nil {
		return 0, "", nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// curlPage runs curl -si for https://shop.example.test<path> against the agent.
func curlPage(t *testing.T, curl string, p *agentProc, path string) string {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, p.ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(p.https)
	out, err := exec.Command(curl, "-si", "--http2", "--max-time", "10", "--cacert", caFile,
		"--resolve", "shop.example.test:"+port+":127.0.0.1", "https://shop.example.test:"+port+path).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}
