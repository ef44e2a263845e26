package fleet

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/tests/testca"
	"github.com/edgectl/edge/tests/testenv"
)

// listenSamePort listens on the same free TCP port at every one of ips.
func listenSamePort(t *testing.T, ips ...string) []net.Listener {
	for range 50 {
		first, err := net.Listen("tcp", net.JoinHostPort(ips[0], "0"))
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(first.Addr().String())
		lns := []net.Listener{first}
		for _, ip := range ips[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, port))
			if err != nil {
				break
			}
			lns = append(lns, l)
		}
		if len(lns) == len(ips) {
			return lns
		}
		for _, l := range lns {
			l.Close()
		}
	}
	t.Fatal("no port free on every address")
	return nil
}

// TestDNSNameResolvingToMany: dns:https://agents.edge.test:PORT, resolved by a real DNS
// server (Knot) holding three A records, asks the three agents behind them over TLS, each
// certificate verified for the name, each presented the client certificate; a name that
// does not resolve is one unreachable entry.
func TestDNSNameResolvingToMany(t *testing.T) {
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	dns := testenv.StartDNS(t, "edge.test", map[string][]string{"agents": ips})
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.Issue([]string{"agents.edge.test"}, testca.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := ca.Issue([]string{"fleet-client"}, testca.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{"ca.pem": ca.CertPEM, "client.pem": clientCert.ChainPEM, "client.key": clientCert.KeyPEM}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	lns := listenSamePort(t, ips...)
	for i, l := range lns {
		st := reconcile.ServingStatus{Commit: newCommit, CommitTime: t0.Add(time.Hour)}
		if i == 1 {
			st = reconcile.ServingStatus{Commit: oldCommit, CommitTime: t0}
		}
		h := statusHandler(reconcile.Status{Serving: st})
		srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cn := r.TLS.PeerCertificates[0].Subject.CommonName; cn != "fleet-client" {
				http.Error(w, "client "+cn, http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		}), ErrorLog: log.New(io.Discard, "", 0)}}
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert.TLS}, ClientAuth: tls.RequireAnyClientCert}
		srv.StartTLS()
		t.Cleanup(srv.Close)
	}
	_, port, _ := net.SplitHostPort(lns[0].Addr().String())
	peers, err := ParsePeers(fmt.Sprintf("dns:https://agents.edge.test:%s,dns:nowhere.edge.test:%s", port, port))
	if err != nil {
		t.Fatal(err)
	}
	client := newTestClient(t, ClientOptions{CACert: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "client.pem"), Key: filepath.Join(dir, "client.key")})
	c := &Checker{Peers: peers, Client: client, Resolver: dns.Resolver()}
	s, err := c.Check(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range s.Agents {
		got = append(got, fmt.Sprintf("%s %s %s", a.Addr, a.Name, a.State))
		t.Logf("%s %s %s %s", a.Addr, a.Name, a.State, a.Error)
	}
	want := []string{
		"https://127.0.0.2:" + port + " agents.edge.test current",
		"https://127.0.0.3:" + port + " agents.edge.test lagging",
		"https://127.0.0.4:" + port + " agents.edge.test current",
		"dns:nowhere.edge.test:" + port + " nowhere.edge.test unreachable",
	}
	if !slices.Equal(got, want) {
		t.Errorf("agents:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.Converged || s.Target != newCommit {
		t.Errorf("converged %v, target %s; want false, %s", s.Converged, s.Target, newCommit)
	}

	// Without the CA, the certificates are not trusted.
	c.Client = newTestClient(t, ClientOptions{})
	s, _ = c.Check(context.Background(), "")
	if a := s.Agents[0]; a.State != Unreachable || !strings.Contains(a.Error, "certificate") {
		t.Errorf("without --cacert: %s %q; want unreachable for the certificate", a.State, a.Error)
	}
}

// TestResolverFromEnv: EDGE_DNS_SERVER sends lookups to that server.
func TestResolverFromEnv(t *testing.T) {
	dns := testenv.StartDNS(t, "edge.test", map[string][]string{"one": {"127.0.0.7"}})
	t.Setenv(DNSServerEnv, dns.Addr)
	a, _ := ParseAddr("dns:one.edge.test:1234")
	ts := Resolve(context.Background(), ResolverFromEnv(), []Addr{a})
	if len(ts) != 1 || ts[0].Err != nil || ts[0].URL != "http://127.0.0.7:1234" {
		t.Errorf("targets %+v; want http://127.0.0.7:1234", ts)
	}
	t.Setenv(DNSServerEnv, "")
	if ResolverFromEnv() != nil {
		t.Error("an empty EDGE_DNS_SERVER gave a resolver; want the system's (nil)")
	}
}
