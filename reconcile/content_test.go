package reconcile_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
)

// staticCue declares site name serving www/<name> of the repo at "/", and a content
// repository at "/pinned" when pinned.
func staticCue(name string, pinned bool) string {
	s := "package edge\n\nsites: " + name + ": {\n\thosts: [\"" + name + ".example.test\"]\n\tcert: \"certs/" + name + ".pem\"\n\tkey: path: \"edge/" + name + "\"\n" +
		"\troutes: \"/\": static: repo_dir: \"www/" + name + "\"\n"
	if pinned {
		s += "\troutes: \"/pinned\": static: git: {url: \"https://git.invalid/site.git\", commit: \"0123456789abcdef0123456789abcdef01234567\"}\n"
	}
	return s + "}\n"
}

// getPage fetches https://<name>.example.test/ from the agent's edge.
func (e *agentEnv) getPage(name string) string {
	e.t.Helper()
	addr := e.srv.Addr().String()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool(), ServerName: name + ".example.test"},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		},
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + name + ".example.test/")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestAgentStaticSites: a page of a repo_dir changed by a commit is served at the next
// step, the other site kept as it was; a site pinned to a content repository while the
// agent fetches none fails alone.
func TestAgentStaticSites(t *testing.T) {
	e := newAgentEnv(t)
	for _, n := range []string{"docs", "blog"} {
		e.site(n, true, "")
		if err := os.WriteFile(filepath.Join(e.repo.Dir, "sites", n+".cue"), []byte(staticCue(n, false)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.repo.CommitStrings("static sites", map[string]string{"www/docs/index.html": "docs v1", "www/blog/index.html": "blog v1"})
	st := e.step()
	if got := e.getPage("docs"); got != "docs v1" {
		t.Fatalf("docs: %q", got)
	}
	blogCommit := siteState(st, "blog").Commit

	e.repo.CommitStrings("docs v2", map[string]string{"www/docs/index.html": "docs v2"})
	st = e.step()
	if got := e.getPage("docs"); got != "docs v2" {
		t.Errorf("after a content-only commit, docs serves %q; want docs v2", got)
	}
	if got := siteState(st, "blog").Commit; got != blogCommit {
		t.Errorf("blog was compiled again (commit %s → %s) though nothing of it changed", blogCommit, got)
	}

	e.repo.CommitStrings("pin blog", map[string]string{"sites/blog.cue": staticCue("blog", true)})
	st = e.step()
	b := siteState(st, "blog")
	if b.State != reconcile.SiteStale || !strings.Contains(b.Error, "fetches no content repositories") {
		t.Errorf("blog: %s %q; want stale, saying no content repository is fetched", b.State, b.Error)
	}
	if got := e.getPage("blog"); got != "blog v1" {
		t.Errorf("blog (stale) serves %q; want its previous version", got)
	}
	if got := siteState(st, "docs").State; got != reconcile.SiteServing {
		t.Errorf("docs: %s; want serving", got)
	}
}
