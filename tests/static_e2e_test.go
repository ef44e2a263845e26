package tests

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
	"github.com/edgectl/edge/tests/testenv"
)

// staticSiteFile declares site "static": "/" from the content repository at url pinned to
// commit, "/docs" from www/docs of the config repo.
func staticSiteFile(url, commit string) string {
	return fmt.Sprintf(`package edge

sites: static: {
	hosts: ["static.example.test"]
	cert: "certs/static.pem"
	key: path: "edge/static"
	routes: "/": static: git: {url: %q, commit: %q, path: "public"}
	routes: "/docs": static: repo_dir: "www/docs"
}
`, url, commit)
}

// TestStaticContentDeploysUnderLoad runs the agent binary on a config repo (git over HTTP)
// whose site serves a content repository (another git server) pinned by commit, and a
// directory of the config repo. Under steady load over HTTP/2 and HTTP/1.1, a commit moving
// the pin, then a commit changing only a page of the config repo, are each served with no
// failed request, each response whole (old or new, never a mix), and `edgectl plan` shows
// the moved pin as a deploy.
func TestStaticContentDeploysUnderLoad(t *testing.T) {
	t.Parallel()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	content := testenv.NewGitRepo(t)
	content.GitBare("config", "uploadpack.allowReachableSHA1InWant", "true")
	contentGit := testenv.StartGitHTTP(t, content.Bare, nil)
	c1 := content.CommitStrings("v1", map[string]string{"public/index.html": "content v1", "README": "not served"})
	c2 := content.CommitStrings("v2", map[string]string{"public/index.html": "content v2"})

	repo := testenv.NewGitRepo(t)
	git := testenv.StartGitHTTP(t, repo.Bare, nil)
	keyDir := filepath.Join(t.TempDir(), "keys")
	if _, err := sitegen.WriteSite(repo.Dir, sitegen.Site{Name: "static", Hosts: []string{"static.example.test"}, Upstreams: []string{"http://127.0.0.1:9"}},
		sitegen.Options{CA: ca, KeyDir: keyDir}); err != nil {
		t.Fatal(err)
	}
	base := repo.CommitStrings("static site on v1", map[string]string{
		"sites/static.cue": staticSiteFile(contentGit.URL, c1), "www/docs/index.html": "docs v1"})

	agent := startAgentProc(t, ca, nil, "--repo", git.URL, "--interval", "200ms", "--keys", "dir", "--key-dir", keyDir)
	fetch := staticFetcher(ca, agent.https)
	agent.waitFor("content v1 served", 30*time.Second, func() bool { return fetch("/", false) == "content v1" })

	var failures atomic.Int64
	var mu sync.Mutex
	seen := map[string]int{}
	var firstFailure atomic.Value
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h1 := i%2 == 1
			get := staticFetcher(ca, agent.https)
			for ctx.Err() == nil {
				path := []string{"/", "/docs/"}[i/2]
				body := get(path, h1)
				mu.Lock()
				seen[body]++
				mu.Unlock()
				switch body {
				case "content v1", "content v2", "docs v1", "docs v2":
				default:
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, path+": "+body)
				}
			}
		}()
	}
	head := repo.CommitStrings("move the content pin to v2", map[string]string{"sites/static.cue": staticSiteFile(contentGit.URL, c2)})
	agent.waitFor("content v2 served", 30*time.Second, func() bool { return fetch("/", false) == "content v2" })
	repo.CommitStrings("docs v2", map[string]string{"www/docs/index.html": "docs v2"})
	agent.waitFor("docs v2 served", 30*time.Second, func() bool { return fetch("/docs/", true) == "docs v2" })
	stop()
	wg.Wait()
	t.Logf("responses under load: %v", seen)
	if n := failures.Load(); n > 0 {
		t.Errorf("%d failed or mixed responses under load; first: %v", n, firstFailure.Load())
	}
	if seen["content v1"] == 0 || seen["content v2"] == 0 || seen["docs v1"] == 0 || seen["docs v2"] == 0 {
		t.Errorf("the load did not span the deploys: %v", seen)
	}
	if got := fetch("/README", false); !strings.HasPrefix(got, "status 404") {
		t.Errorf("/README (outside the pinned path): %q; want 404", got)
	}

	out, err := exec.Command(edgectl(t), "plan", "--repo", repo.Dir, base, head).CombinedOutput()
	if err != nil {
		t.Fatalf("edgectl plan: %v\n%s", err, out)
	}
	want := fmt.Sprintf("route /: static content repository %s moved %s → %s (deploy)", contentGit.URL, c1[:12], c2[:12])
	if !strings.Contains(string(out), want) {
		t.Errorf("plan lacks %q:\n%s", want, out)
	}
}

// staticFetcher returns a function that GETs a path of static.example.test from the edge
// at addr (HTTP/2, or HTTP/1.1 if h1) over keep-alive connections and returns the body,
// or "status N: body" / "error: ..." when it is not a 200.
func staticFetcher(ca *testca.CA, addr string) func(path string, h1 bool) string {
	mk := func(h1 bool) *http.Client {
		tr := &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "static.example.test"},
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			},
			ForceAttemptHTTP2: !h1,
		}
		if h1 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	clients := map[bool]*http.Client{false: mk(false), true: mk(true)}
	return func(path string, h1 bool) string {
		resp, err := clients[h1].Get("https://static.example.test" + path)
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return "error: body: " + err.Error()
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Sprintf("status %d: %s", resp.StatusCode, b)
		}
		return string(b)
	}
}
