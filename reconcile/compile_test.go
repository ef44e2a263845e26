package reconcile

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/tests/testca"
)

// compileFixture issues a certificate of kt for host and returns the schema's view of it
// (chain DER and leaf facts, as the loader leaves them) and the key in PKCS #8 PEM.
func compileFixture(t *testing.T, ca *testca.CA, kt testca.KeyType, host string) (schema.Cert, []byte) {
	t.Helper()
	leaf, err := ca.Issue([]string{host}, kt, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var der [][]byte
	for rest := leaf.ChainPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		der = append(der, b.Bytes)
	}
	c, err := x509.ParseCertificate(der[0])
	if err != nil {
		t.Fatal(err)
	}
	return schema.Cert{File: "certs/" + host + ".pem", PEM: leaf.ChainPEM, DER: der, Leaf: site.NewCertLeaf(c)}, leaf.KeyPEM
}

// reencode rewrites a PKCS #8 key PEM in its legacy form: PKCS #1 for RSA, SEC 1 for EC.
func reencode(t *testing.T, keyPEM []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(keyPEM)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	t.Fatalf("key type %T", k)
	return nil
}

// handshake serves cert on one end of a pipe and completes a TLS handshake with a client
// trusting ca for host.
func handshake(t *testing.T, cert tls.Certificate, ca *testca.CA, host string) error {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	go func() {
		srv := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{cert}})
		_ = srv.Handshake()
	}()
	cl := tls.Client(c, &tls.Config{RootCAs: ca.Pool(), ServerName: host})
	return cl.Handshake()
}

// TestCompileSiteCertificate: the served certificate pairs the schema's parsed chain (shared,
// not parsed again) with the key, in every key encoding crypto/tls accepts, and completes a
// real handshake; a key of another certificate or a broken key is refused without quoting it.
func TestCompileSiteCertificate(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, kt := range []testca.KeyType{testca.ECDSA, testca.RSA} {
		cert, keyPEM := compileFixture(t, ca, kt, string(kt)+".example.test")
		for enc, pemKey := range map[string][]byte{"pkcs8": keyPEM, "legacy": reencode(t, keyPEM)} {
			decl := &schema.Site{Site: site.Site{Name: "s", Hosts: []string{string(kt) + ".example.test"}}, File: "sites/s.cue", Cert: cert}
			es, err := CompileSite(decl, keysource.Key{PEM: pemKey}, "rev")
			if err != nil {
				t.Fatalf("%s/%s: %v", kt, enc, err)
			}
			tc := es.Certificates[0]
			if tc.Leaf != nil || len(es.Leaves) != 1 || es.Leaves[0] != cert.Leaf || len(tc.Certificate) != len(cert.DER) || &tc.Certificate[0][0] != &cert.DER[0][0] {
				t.Errorf("%s/%s: the chain was not taken from the schema's parse, or a parsed leaf is kept", kt, enc)
			}
			if err := handshake(t, tc, ca, string(kt)+".example.test"); err != nil {
				t.Errorf("%s/%s: handshake: %v", kt, enc, err)
			}
		}
	}

	cert, keyOfA := compileFixture(t, ca, testca.ECDSA, "a.example.test")
	_, otherKey := compileFixture(t, ca, testca.ECDSA, "b.example.test")
	decl := &schema.Site{Site: site.Site{Name: "a"}, File: "sites/a.cue", Cert: cert, Key: schema.KeyRef{Mount: "secret", Path: "edge/a", Field: "key"}}
	for name, key := range map[string][]byte{
		"other certificate's key": otherKey,
		"not PEM":                 []byte("c2VjcmV0IGtleSBtYXRlcmlhbA=="),
		"a certificate, no key":   cert.PEM,
		"corrupt key":             pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("c2VjcmV0")}),
	} {
		_, err := CompileSite(decl, keysource.Key{PEM: key}, "rev")
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "sites/a.cue") || !strings.Contains(msg, "secret/edge/a#key") ||
			strings.Contains(msg, "c2VjcmV0") || strings.Contains(msg, "PRIVATE KEY-----") {
			t.Errorf("%s: error %q; want the site file and key reference, and no key material", name, msg)
		}
		t.Logf("%s: %v", name, err)
	}

	// A Cert the schema did not parse (PEM only) is parsed here.
	pemOnly := &schema.Site{Site: site.Site{Name: "a"}, File: "sites/a.cue", Cert: schema.Cert{File: cert.File, PEM: cert.PEM}}
	if es, err := CompileSite(pemOnly, keysource.Key{PEM: keyOfA}, "rev"); err != nil || es.Certificates[0].Leaf == nil {
		t.Errorf("PEM-only cert: %v; want it parsed, with its leaf", err)
	}
	if _, err := CompileSite(pemOnly, keysource.Key{PEM: otherKey}, "rev"); err == nil {
		t.Error("PEM-only cert with another certificate's key accepted")
	}
}

// TestCompileRouteTimeouts: every route timeout of the schema reaches the edge route.
func TestCompileRouteTimeouts(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	cert, key := compileFixture(t, ca, testca.ECDSA, "t.example.test")
	tm := site.Timeouts{Connect: time.Second, Response: 2 * time.Second, Idle: 3 * time.Second, Body: 4 * time.Second}
	up := &url.URL{Scheme: "http", Host: "127.0.0.1:1"}
	decl := &schema.Site{Site: site.Site{Name: "t", Hosts: []string{"t.example.test"},
		Routes: []site.Route{{Path: "/", Upstreams: []*url.URL{up}, Timeouts: tm}}}, File: "sites/t.cue", Cert: cert}
	es, err := CompileSite(decl, keysource.Key{PEM: key}, "rev")
	if err != nil {
		t.Fatal(err)
	}
	r := es.Routes[0]
	if got := r.Timeouts; got != tm {
		t.Errorf("edge route timeouts %+v; want %+v", got, tm)
	}
	if r.Upstreams[0] != up || es.Name != "t" || es.Commit != "rev" {
		t.Errorf("edge site %s@%s upstream %v; want the declaration's, not a copy", es.Name, es.Commit, r.Upstreams[0])
	}
}
