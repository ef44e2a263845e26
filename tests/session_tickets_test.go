package tests

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
	"github.com/edgectl/edge/tests/testenv"
)

// frozenCache is a TLS client session cache that keeps the first ticket it is given for
// each server name and ignores everything after (new tickets, deletions): every handshake
// offers that first ticket.
type frozenCache struct {
	mu sync.Mutex
	m  map[string]*tls.ClientSessionState
}

func (c *frozenCache) Get(key string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[key]
	return s, ok
}

func (c *frozenCache) Put(key string, s *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*tls.ClientSessionState{}
	}
	if _, ok := c.m[key]; !ok && s != nil {
		c.m[key] = s
	}
}

const ticketHost = "tickets.example.test"

// len is the number of tickets held.
func (c *frozenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// quicHandshake connects to p over QUIC (HTTP/3's ALPN) with cache, waits until cache holds
// a ticket (sent after the handshake) and says whether the session was resumed.
func quicHandshake(t *testing.T, p *agentProc, cache *frozenCache) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, p.https, &tls.Config{RootCAs: p.ca.Pool(), ServerName: ticketHost,
		NextProtos: []string{http3.NextProtoH3}, ClientSessionCache: cache}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	for cache.len() == 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond) // polling for the ticket's arrival, with ctx's backstop
	}
	return conn.ConnectionState().TLS.DidResume
}

// handshake connects to p over TLS 1.3 with cache, makes one HTTP/1.1 request (so the
// session ticket the server sends after the handshake is read), and says whether the
// session was resumed.
func handshake(t *testing.T, p *agentProc, cache tls.ClientSessionCache) bool {
	t.Helper()
	c, err := tls.Dial("tcp", p.https, &tls.Config{RootCAs: p.ca.Pool(), ServerName: ticketHost,
		ClientSessionCache: cache, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", ticketHost)
	b, err := io.ReadAll(c)
	if err != nil || !strings.Contains(string(b), "hello from "+ticketHost) {
		t.Fatalf("request on %s: %v\n%s", p.https, err, b)
	}
	return c.ConnectionState().DidResume
}

// ticketFleet is two agent binaries sharing one Vault (keys, session tickets rotating every
// 3s) and one repo serving ticketHost, and a third with --session-tickets=off.
type ticketFleet struct {
	vault *testenv.Vault
	a, b  *agentProc
	local *agentProc
}

func startTicketFleet(t *testing.T) *ticketFleet {
	t.Helper()
	f := &ticketFleet{vault: testenv.StartVault(t)}
	policy, err := os.ReadFile("../examples/vault/edge-policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	f.vault.WritePolicy(t, "edge", string(policy))
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(f.vault.CreateToken(t, []string{"edge"}, nil)), 0o600); err != nil {
		t.Fatal(err)
	}
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	repo := testenv.NewGitRepo(t)
	git := testenv.StartGitHTTP(t, repo.Bare, nil)
	g, err := sitegen.WriteSite(repo.Dir, sitegen.Site{Name: "tickets", Hosts: []string{ticketHost}, Upstreams: []string{helloBackend(t).URL},
		Key: schema.KeyRef{Mount: "secret", Path: "edge/tickets", Field: "key"}}, sitegen.Options{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	f.vault.PutKV(t, "secret", "edge/tickets", map[string]any{"key": string(g.Leaf.KeyPEM)})
	repo.Commit("add tickets", nil)
	args := []string{"--repo", git.URL, "--interval", "300ms", "--keys", "vault", "--vault-addr", f.vault.Addr,
		"--vault-token-file", tokenFile, "--session-ticket-rotation", "3s"}
	f.a = startAgentProc(t, ca, nil, append(args, "--log-level", "debug")...)
	f.b = startAgentProc(t, ca, nil, args...)
	f.local = startAgentProc(t, ca, nil, append(args, "--session-tickets", "off")...)
	for _, p := range []*agentProc{f.a, f.b, f.local} {
		p.waitFor("site served", 20*time.Second, func() bool { return p.serves(ticketHost) })
	}
	t.Cleanup(func() {
		for _, p := range []*agentProc{f.a, f.b, f.local} {
			if strings.Contains(p.out.String(), "PRIVATE KEY") {
				t.Error("agent output contains private key material")
			}
		}
	})
	return f
}

func ticketVersion(p *agentProc) float64 { return p.counter("edge_session_ticket_keys_version") }

// TestSessionResumptionAcrossAgents: a client that got its session ticket from agent A
// resumes on agent B (not on an agent with local keys); after a rotation it still resumes
// with the previous key, after two it no longer does; with Vault down, the keys in place
// keep serving.
func TestSessionResumptionAcrossAgents(t *testing.T) {
	edgectl(t) // built once per test binary: not part of the figures below
	start := time.Now()
	f := startTicketFleet(t)
	t.Logf("vault and three agents up in %v", time.Since(start).Round(time.Millisecond))
	f.a.waitFor("fleet keys installed on both", 20*time.Second, func() bool {
		return ticketVersion(f.a) >= 1 && ticketVersion(f.b) >= 1
	})

	cache := &frozenCache{}
	if handshake(t, f.a, cache) {
		t.Fatal("first handshake resumed")
	}
	if !handshake(t, f.b, cache) {
		t.Error("a session from agent A did not resume on agent B")
	}
	if handshake(t, f.local, cache) {
		t.Error("a session from agent A resumed on an agent with --session-tickets=off")
	}
	qcache := &frozenCache{}
	if quicHandshake(t, f.a, qcache) || !quicHandshake(t, f.b, qcache) {
		t.Error("an HTTP/3 (QUIC) session from agent A did not resume on agent B")
	}
	start = time.Now()
	testResumeAfterRotation(t, f)
	t.Logf("rotation checks (3s rotation) took %v", time.Since(start).Round(time.Millisecond))
	for _, p := range []*agentProc{f.a, f.b} {
		t.Logf("agent %s: key version %v, versions it wrote %v, vault reads: %v of metadata, %v of keys", p.https, ticketVersion(p),
			p.counter("edge_session_ticket_keys_rotations_total"), p.counter(`edge_session_ticket_keys_vault_reads_total{kind="metadata"}`),
			p.counter(`edge_session_ticket_keys_vault_reads_total{kind="keys"}`))
	}

	s, err := f.vault.Client.KVv2("secret").Get(context.Background(), "edge/_fleet/session-tickets")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*agentProc{f.a, f.b} {
		for field, key := range s.Data {
			if k, _ := key.(string); len(k) > 8 && strings.Contains(p.out.String(), k) {
				t.Errorf("agent output shows the session ticket key %q", field)
			}
		}
	}

	f.vault.Stop()
	cache = &frozenCache{}
	handshake(t, f.a, cache)
	errs := f.a.counter("edge_session_ticket_keys_errors_total")
	f.a.waitFor("a failed rotation check with Vault down", 30*time.Second, func() bool {
		return f.a.counter("edge_session_ticket_keys_errors_total") > errs && f.b.counter("edge_session_ticket_keys_errors_total") > 0
	})
	if !handshake(t, f.b, cache) || !handshake(t, f.a, cache) {
		t.Error("with Vault down the agents no longer resume each other's sessions")
	}
	for _, p := range []*agentProc{f.a, f.b} {
		p.alive()
		if !p.serves(ticketHost) {
			t.Error("not serving with Vault down")
		}
	}
}

// testResumeAfterRotation gets a ticket from A at key version n, then resumes it on B at
// version n+1 (the ticket's key is B's previous) and fails to at n+2 (rotated out). An
// attempt where the versions moved on under the test is repeated.
func testResumeAfterRotation(t *testing.T, f *ticketFleet) {
	t.Helper()
	for attempt := 1; attempt <= 5; attempt++ {
		cache := &frozenCache{}
		n := ticketVersion(f.a)
		handshake(t, f.a, cache)
		if ticketVersion(f.a) != n {
			continue // A rotated during the handshake: which key sealed the ticket is unknown
		}
		f.b.waitFor("B one rotation on", 30*time.Second, func() bool { return ticketVersion(f.b) >= n+1 })
		resumed := handshake(t, f.b, cache)
		if ticketVersion(f.b) != n+1 {
			t.Logf("attempt %d: B moved past version %v during the check; again", attempt, n+1)
			continue
		}
		if !resumed {
			t.Fatalf("a ticket of key version %v did not resume on B at version %v", n, n+1)
		}
		f.b.waitFor("B two rotations on", 30*time.Second, func() bool { return ticketVersion(f.b) >= n+2 })
		if handshake(t, f.b, cache) {
			t.Errorf("a ticket of key version %v resumed on B at version %v: old keys are not rotated out", n, ticketVersion(f.b))
		}
		return
	}
	t.Fatal("no attempt saw one rotation at a time")
}
