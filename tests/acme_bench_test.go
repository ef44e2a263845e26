package tests

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/tests/testca"
	"github.com/edgectl/edge/tests/testenv"
)

// TestBenchAgentStartIssued measures how long one agent binary takes from its start to
// serving N sites whose issued certificates are already in Vault (written there as an
// earlier agent would have): it reads each once, nothing more, and orders nothing (none is
// due). It runs only with EDGE_BENCH_ISSUED=N (tests/bench/issued-start.sh) and prints the
// figure; it asserts only that every site is served.
func TestBenchAgentStartIssued(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("EDGE_BENCH_ISSUED"))
	if n <= 0 {
		t.Skip("set EDGE_BENCH_ISSUED=1000 to run (tests/bench/issued-start.sh)")
	}
	b := t
	v := testenv.StartVault(b)
	ca, err := testca.New()
	if err != nil {
		b.Fatal(err)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	b.Cleanup(backend.Close)
	repo := testenv.NewGitRepo(b)
	files := map[string][]byte{"edge.cue": []byte("package edge\n\nissuers: le: acme: directory: \"https://127.0.0.1:1/dir\"\n")}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	now := time.Now()
	for i := range n {
		name := "s" + strconv.Itoa(i)
		host := name + ".edge.test"
		files["sites/"+name+".cue"] = fmt.Appendf(nil, "package edge\n\nsites: %s: {\n\thosts: [%q]\n\ttls: issuer: \"le\"\n\troutes: \"/\": upstreams: [%q]\n}\n", name, host, backend.URL)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			leaf, err := ca.Issue([]string{host}, testca.ECDSA, now.Add(90*24*time.Hour))
			if err != nil {
				b.Error(err)
				return
			}
			v.PutKV(b, "secret", "edge/issued/"+name, map[string]any{
				"chain": string(leaf.ChainPEM), "key": string(leaf.KeyPEM), "fence": "1", "issuer": "le", "names": host,
				"not_before": leaf.Cert.NotBefore.UTC().Format(time.RFC3339Nano), "not_after": leaf.Cert.NotAfter.UTC().Format(time.RFC3339Nano),
			})
		}()
	}
	wg.Wait()
	repo.Commit("issued sites", files)
	git := testenv.StartGitHTTP(b, repo.Bare, nil)
	edgectl(t) // built before the clock starts
	{
		start := time.Now()
		p := launchAgentProc(t, ca, []string{"VAULT_TOKEN=" + v.Token}, nil, "--repo", git.URL, "--interval", "1s", "--keys", "vault", "--vault-addr", v.Addr, "--http3=false")
		p.waitFor("every issued site served", 10*time.Minute, func() bool {
			resp, err := http.Get("http://" + p.admin + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200 && countServing(p.status()) == n
		})
		d := time.Since(start)
		reads := p.counter("edge_issue_vault_reads_total")
		b.Logf("figure: one agent from start to serving %d issued certificates from Vault: %v (%v Vault reads)", n, d.Round(time.Millisecond), reads)
		p.stop()
		if os.Getenv("EDGE_BENCH_LOG") != "" {
			t.Logf("agent output:\n%s", p.out.String())
		}
	}
}

func countServing(st reconcile.Status) int {
	c := 0
	for _, s := range st.Sites {
		if s.State == reconcile.SiteServing && s.Issue != nil {
			c++
		}
	}
	return c
}
