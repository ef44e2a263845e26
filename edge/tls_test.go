package edge

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
)

// sniSites returns the sites of the SNI table: an exact name, a wildcard, a site with both
// ECDSA and RSA certificates and an RSA-only site.
func sniSites(t *testing.T) []*Site {
	dual := testSite(t, "dual", "dual.example.com")
	dual.Certificates = append(dual.Certificates, ca(t).Issue(t, edgetest.RSA, time.Time{}, "dual.example.com"))
	rsaOnly := testSite(t, "rsa", "rsa.example.com")
	rsaOnly.Certificates = []tls.Certificate{ca(t).Issue(t, edgetest.RSA, time.Time{}, "rsa.example.com")}
	return []*Site{
		testSite(t, "exact", "exact.example.com"),
		testSite(t, "wild", "*.wild.example.com"),
		dual,
		rsaOnly,
	}
}

// handshake dials the server's TLS listener with cfg and returns the connection state, or
// the error and whether the server sent any certificate.
func handshake(t *testing.T, addr net.Addr, cfg *tls.Config) (tls.ConnectionState, bool, error) {
	t.Helper()
	sawCert := false
	if cfg.NextProtos == nil {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	cfg.InsecureSkipVerify = true // verified below, by hand, so an empty name works too
	cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		sawCert = len(raw) > 0
		return nil
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr.String(), cfg)
	if err != nil {
		return tls.ConnectionState{}, sawCert, err
	}
	defer conn.Close()
	return conn.ConnectionState(), sawCert, nil
}

// slimLeaves returns copies of sites whose certificates carry no parsed Leaf, only
// Leaves, as reconcile.CompileSite builds them.
func slimLeaves(sites []*Site) []*Site {
	out := make([]*Site, len(sites))
	for i, st := range sites {
		c := *st
		c.Certificates = append([]tls.Certificate(nil), st.Certificates...)
		c.Leaves = make([]*site.CertLeaf, len(c.Certificates))
		for j := range c.Certificates {
			c.Leaves[j] = site.NewCertLeaf(c.Certificates[j].Leaf)
			c.Certificates[j].Leaf = nil
		}
		out[i] = &c
	}
	return out
}

// TestSNISelection: the certificate served by SNI, for sites whose certificates have their
// parsed Leaf and for the same sites with only Leaves (the compiled form).
func TestSNISelection(t *testing.T) {
	for name, sites := range map[string]func(*testing.T) []*Site{
		"leaf":   sniSites,
		"leaves": func(t *testing.T) []*Site { return slimLeaves(sniSites(t)) },
	} {
		t.Run(name, func(t *testing.T) { testSNISelection(t, sites(t)) })
	}
}

func testSNISelection(t *testing.T, sites []*Site) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	publish(t, srv, 1, sites...)

	ecdsaOnly := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	rsaOnly := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	for _, tc := range []struct {
		name     string
		sni      string
		tls12    []uint16 // restrict to TLS 1.2 with these suites
		wantName string   // a SAN the leaf must have; "" means the handshake is refused
		wantAlg  x509.PublicKeyAlgorithm
	}{
		{"exact", "exact.example.com", nil, "exact.example.com", x509.ECDSA},
		{"upper case", "EXACT.Example.COM", nil, "exact.example.com", x509.ECDSA},
		{"wildcard", "app.wild.example.com", nil, "*.wild.example.com", x509.ECDSA},
		{"wildcard upper case", "APP.Wild.example.com", nil, "*.wild.example.com", x509.ECDSA},
		{"two labels under a wildcard", "a.b.wild.example.com", nil, "", 0},
		{"wildcard parent itself", "wild.example.com", nil, "", 0},
		{"unknown", "unknown.example.com", nil, "", 0},
		{"no SNI", "", nil, "", 0},
		{"dual, TLS 1.3 client", "dual.example.com", nil, "dual.example.com", x509.ECDSA},
		{"dual, ECDSA-only client", "dual.example.com", ecdsaOnly, "dual.example.com", x509.ECDSA},
		{"dual, RSA-only client", "dual.example.com", rsaOnly, "dual.example.com", x509.RSA},
		{"RSA-only site, RSA client", "rsa.example.com", rsaOnly, "rsa.example.com", x509.RSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{ServerName: tc.sni}
			if tc.tls12 != nil {
				cfg.MaxVersion, cfg.CipherSuites = tls.VersionTLS12, tc.tls12
			}
			cs, sawCert, err := handshake(t, srv.Addr(), cfg)
			if tc.wantName == "" {
				if err == nil {
					t.Fatalf("handshake succeeded with %v; want it refused", leafOf(cs).DNSNames)
				}
				if sawCert {
					t.Error("server sent a certificate on a refused handshake")
				}
				if !strings.Contains(err.Error(), "unrecognized name") {
					t.Errorf("error = %v; want an unrecognized_name alert", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			leaf := leafOf(cs)
			if !contains(leaf.DNSNames, tc.wantName) || leaf.PublicKeyAlgorithm != tc.wantAlg {
				t.Errorf("leaf %v %v; want %s %v", leaf.DNSNames, leaf.PublicKeyAlgorithm, tc.wantName, tc.wantAlg)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca(t).Pool(), DNSName: strings.ToLower(tc.sni)}); err != nil {
				t.Errorf("leaf does not verify for %s: %v", tc.sni, err)
			}
			if cs.NegotiatedProtocol != "h2" {
				t.Errorf("ALPN = %q; want h2", cs.NegotiatedProtocol)
			}
		})
	}
}

func TestSNIDefaultSite(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	sites := sniSites(t)
	sites[0].Default = true // exact.example.com answers unknown names and no SNI
	publish(t, srv, 1, sites...)
	for _, sni := range []string{"", "unknown.example.com", "a.b.wild.example.com"} {
		cs, _, err := handshake(t, srv.Addr(), &tls.Config{ServerName: sni})
		if err != nil {
			t.Errorf("SNI %q: %v; want the default site's certificate", sni, err)
			continue
		}
		if got := leafOf(cs).DNSNames; !contains(got, "exact.example.com") {
			t.Errorf("SNI %q: leaf %v; want the default site's", sni, got)
		}
	}
	// Known names still get their own certificate.
	cs, _, err := handshake(t, srv.Addr(), &tls.Config{ServerName: "x.wild.example.com"})
	if err != nil || !contains(leafOf(cs).DNSNames, "*.wild.example.com") {
		t.Errorf("wildcard name with a default site: %v, %v", err, leafOf(cs))
	}
}

func TestGetConfigForClientNormalizes(t *testing.T) {
	srv := NewServer(Options{Logger: quietLogger})
	t.Cleanup(func() { srv.proxy.Close() })
	if cfg, _ := srv.getConfigForClient(&tls.ClientHelloInfo{ServerName: "exact.example.com"}); cfg != refuseConfig {
		t.Error("before any snapshot: handshake not refused")
	}
	publish(t, srv, 1, sniSites(t)...)
	for _, name := range []string{"exact.example.com", "exact.example.com.", "EXACT.EXAMPLE.COM.", "x.Wild.Example.Com."} {
		cfg, err := srv.getConfigForClient(&tls.ClientHelloInfo{ServerName: name})
		if err != nil || cfg == refuseConfig {
			t.Errorf("getConfigForClient(%q) refused; want the snapshot's config", name)
		}
	}
	for _, name := range []string{"exact.example.com..", "*.wild.example.com", "x/y.wild.example.com"} {
		if cfg, _ := srv.getConfigForClient(&tls.ClientHelloInfo{ServerName: name}); cfg != refuseConfig {
			t.Errorf("getConfigForClient(%q) accepted; want refused", name)
		}
	}
}

func TestTLSVersionsAndCiphers(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	publish(t, srv, 1, sniSites(t)...)
	// TLS 1.1 and a CBC suite are refused. (The client's MinVersion must allow 1.1, or Go's
	// client refuses on its own and the server only sees the connection close.)
	if _, _, err := handshake(t, srv.Addr(), &tls.Config{ServerName: "exact.example.com", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("TLS 1.1 handshake succeeded")
	}
	cbc := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
	if _, _, err := handshake(t, srv.Addr(), &tls.Config{ServerName: "exact.example.com", MaxVersion: tls.VersionTLS12, CipherSuites: cbc}); err == nil {
		t.Error("CBC suite accepted")
	}
	// Both failures are counted by reason, from crypto/tls's own messages.
	for _, reason := range []string{"protocol_version", "no_shared_cipher"} {
		deadline := time.Now().Add(5 * time.Second)
		for handshakeFailures(t, srv, reason) < 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := handshakeFailures(t, srv, reason); n != 1 {
			t.Errorf("edge_tls_handshake_errors_total{reason=%q} = %v; want 1", reason, n)
		}
	}
	cs, _, err := handshake(t, srv.Addr(), &tls.Config{ServerName: "exact.example.com", MaxVersion: tls.VersionTLS12})
	if err != nil || cs.Version != tls.VersionTLS12 {
		t.Errorf("TLS 1.2: %v, version %x", err, cs.Version)
	}
	cs, _, err = handshake(t, srv.Addr(), &tls.Config{ServerName: "exact.example.com", NextProtos: []string{"http/1.1"}})
	if err != nil || cs.Version != tls.VersionTLS13 || cs.NegotiatedProtocol != "http/1.1" {
		t.Errorf("TLS 1.3 http/1.1: %v, version %x, alpn %q", err, cs.Version, cs.NegotiatedProtocol)
	}
}

func TestSessionResumptionSurvivesSwap(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	sites := sniSites(t)
	publish(t, srv, 1, sites...)
	cache := tls.NewLRUClientSessionCache(8)
	dial := func() tls.ConnectionState {
		cfg := clientTLS(t, "exact.example.com")
		cfg.ClientSessionCache = cache
		conn, err := tls.Dial("tcp", srv.Addr().String(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// TLS 1.3 tickets arrive after the handshake: read until the server's ticket is in.
		conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		conn.Read(make([]byte, 1))
		return conn.ConnectionState()
	}
	if dial().DidResume {
		t.Fatal("first connection resumed")
	}
	publish(t, srv, 2, sites...) // a new snapshot, a new tls.Config
	if !dial().DidResume {
		t.Error("connection after a swap did not resume the session")
	}
	// Keys from outside (a fleet): a session made under other keys no longer resumes, one
	// made under the new keys does.
	if err := srv.SetSessionTicketKeys([][32]byte{{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	if dial().DidResume {
		t.Error("session resumed after the ticket keys were replaced")
	}
	if !dial().DidResume {
		t.Error("session under the external key did not resume")
	}
}

func TestTicketKeyRotation(t *testing.T) {
	cfg := &tls.Config{}
	tk := newTicketKeys(cfg)
	for range 5 {
		tk.rotate()
	}
	if n := tk.count(); n != ticketKeysKept {
		t.Errorf("keys kept = %d; want %d", n, ticketKeysKept)
	}
	first := tk.keys[0]
	tk.rotate()
	if tk.keys[0] == first || tk.keys[1] != first {
		t.Error("rotate did not put a new key first and keep the previous one")
	}
	if err := tk.set([][32]byte{{9}}); err != nil {
		t.Fatal(err)
	}
	tk.rotate()
	if tk.count() != 1 || tk.keys[0] != [32]byte{9} {
		t.Error("rotate replaced keys set from outside")
	}
	if err := tk.set(make([][32]byte, 17)); err == nil {
		t.Error("17 keys accepted")
	}
	tk.set(nil)
	if tk.count() != 1 || tk.keys[0] == [32]byte{9} {
		t.Error("set(nil) did not return to automatic keys")
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// handshakeFailures reads edge_tls_handshake_errors_total{reason} from srv's registry.
func handshakeFailures(t *testing.T, srv *Server, reason string) float64 {
	t.Helper()
	mfs, err := srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != metricHandshakeErrors {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
