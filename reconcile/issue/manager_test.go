package issue_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/tests/testenv"
)

// agentParts is what one agent of the fleet has for issuance.
type agentParts struct {
	store *issue.Store
	chals *issue.Challenges
	mgr   *issue.Manager
}

func newAgentParts(t *testing.T, v *testenv.Vault, holder string) *agentParts {
	t.Helper()
	a := &agentParts{store: newStore(t, v, holder, time.Minute)}
	a.chals = issue.NewChallenges(a.store)
	return a
}

// start runs a's Manager, ordering from Pebble p.
func (a *agentParts) start(t *testing.T, p *testenv.Pebble) {
	t.Helper()
	a.mgr = issue.NewManager(issue.ManagerOptions{
		Store: a.store, Wait: 200 * time.Millisecond, RetryBase: time.Second,
		Build: func(c issue.Config) (issue.Issuer, error) {
			return issue.NewACME(c.Name, *c.ACME, issue.ACMEOptions{Store: a.store, Challenges: a.chals, Roots: p.TLSPool})
		},
	})
	t.Cleanup(a.mgr.Close)
}

// serveHTTP01 answers HTTP-01 challenges from chals on a free loopback port.
func serveHTTP01(t *testing.T, chals *issue.Challenges) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		if host == "" {
			host = r.Host
		}
		ka, ok := chals.HTTP01(r.Context(), host, strings.TrimPrefix(r.URL.Path, "/.well-known/acme-challenge/"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(ka))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func waitCert(t *testing.T, m *issue.Manager, site string) *tls.Certificate {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		if c, _, ok := m.Get(site); ok {
			return c
		}
		if time.Now().After(deadline) {
			st, _ := m.Status(site)
			t.Fatalf("no certificate for %s after 90s: %+v", site, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestManagerOrdersOnceAcrossAgents: agent A orders while Pebble validates against agent
// B's listener, which answers from the material A put in Vault; B then serves A's
// certificate without ordering.
func TestManagerOrdersOnceAcrossAgents(t *testing.T) {
	t.Parallel()
	v := testenv.StartVault(t)
	a, b := newAgentParts(t, v, "agent-a"), newAgentParts(t, v, "agent-b")
	names := []string{"shop.edge.test"}
	b.chals.SetNames(names)
	// Pebble validates against B's challenge listener only.
	p := testenv.StartPebble(t, testenv.PebbleOptions{HTTPPort: serveHTTP01(t, b.chals)})
	a.start(t, p)
	b.start(t, p)

	cfgs := map[string]issue.Config{"pebble": {Name: "pebble", ACME: &issue.ACMEConfig{Directory: p.DirectoryURL, Challenges: []string{issue.HTTP01}}}}
	wants := []issue.Want{{Site: "shop", Names: names, Issuer: "pebble"}}
	a.mgr.Set(context.Background(), cfgs, wants)
	ca := waitCert(t, a.mgr, "shop")
	b.mgr.Set(context.Background(), cfgs, wants) // reads A's certificate at once
	cb, _, ok := b.mgr.Get("shop")
	if !ok || !cb.Leaf.Equal(ca.Leaf) {
		t.Fatalf("agent B serves %v, want A's certificate", cb)
	}
	if _, err := ca.Leaf.Verify(x509.VerifyOptions{DNSName: "shop.edge.test", Intermediates: p.Roots(t), Roots: p.Roots(t)}); err != nil {
		t.Fatalf("issued certificate does not verify against Pebble's roots: %v", err)
	}
	if n := p.Orders(); n != 1 {
		t.Fatalf("Pebble saw %d orders, want 1", n)
	}
	if got := p.Issued(t)["shop.edge.test"]; got != 1 {
		t.Fatalf("Pebble issued %d certificates for shop.edge.test, want 1", got)
	}
	st, _ := b.mgr.Status("shop")
	if st.State != issue.StateIssued || st.RenewAt.IsZero() {
		t.Fatalf("status %+v, want issued with a renewal time", st)
	}
}
