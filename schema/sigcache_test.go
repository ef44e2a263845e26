package schema_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgectl/edge/schema"
)

// chainCA is a certificate and its key, for building chains of three.
type chainCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serialN atomic.Int64

// issueCert makes a certificate for tmpl signed by parent (self-signed when parent is nil).
func issueCert(t *testing.T, tmpl *x509.Certificate, parent *chainCA) chainCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(serialN.Add(1))
	tmpl.NotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl.NotAfter = time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return chainCA{cert: c, key: key}
}

func caTemplate(name string) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
}

// threeChainRepo is a repo of n sites whose certificate files each hold leaf, intermediate
// and root: the intermediate's signature by the root is the same check in every file. The
// intermediate of the sites named in badInter is signed by another root than the one
// that follows it.
func threeChainRepo(t *testing.T, n int, badInter map[int]bool) fstest.MapFS {
	t.Helper()
	root := issueCert(t, caTemplate("root"), nil)
	inter := issueCert(t, caTemplate("intermediate"), &root)
	other := issueCert(t, caTemplate("other root"), nil)
	forged := issueCert(t, caTemplate("intermediate"), &other)
	fsys := fstest.MapFS{}
	for i := range n {
		name := fmt.Sprintf("s%02d", i)
		host := name + ".example.test"
		issuer := inter
		if badInter[i] {
			issuer = forged
		}
		leaf := issueCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, &issuer)
		var chain []byte
		for _, c := range []*x509.Certificate{leaf.cert, issuer.cert, root.cert} {
			chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		fsys["certs/"+name+".pem"] = &fstest.MapFile{Data: chain}
		fsys["sites/"+name+".cue"] = &fstest.MapFile{Data: fmt.Appendf(nil, `package edge

sites: %s: {
	hosts: [%q]
	cert: "certs/%s.pem"
	key: path: "edge/%s"
	routes: "/": upstreams: ["http://127.0.0.1:3001"]
}
`, name, host, name, name)}
	}
	return fsys
}

// TestLoadChecksSharedIssuerSignatureOnce: at n sites whose chains share an intermediate and
// a root, a load checks each leaf's signature and the intermediate's once (n+1 checks, not
// 2n), with and without an evaluation cache, and the sites load.
func TestLoadChecksSharedIssuerSignatureOnce(t *testing.T) {
	const n = 6
	fsys := threeChainRepo(t, n, nil)
	for _, cached := range []bool{false, true} {
		var checks atomic.Int64
		schema.SetSigCheckedHook(t, func() { checks.Add(1) })
		// One worker: with more, two workers may check the shared pair at once, before
		// either has recorded it (the memo keeps what succeeded, it does not wait on checks
		// in flight), which would make the count depend on scheduling.
		opts := schema.LoaderOptions{Workers: 1}
		if cached {
			opts.CacheDir = t.TempDir()
		}
		cfg, err := schema.NewLoader(opts).Load(fsys)
		if err != nil {
			t.Fatalf("cached %v: %v", cached, err)
		}
		if len(cfg.Sites) != n {
			t.Fatalf("cached %v: %d sites, want %d", cached, len(cfg.Sites), n)
		}
		if got := checks.Load(); got != n+1 {
			t.Fatalf("cached %v: %d signature checks, want %d (each leaf, and the intermediate once)", cached, got, n+1)
		}
	}
}

// TestLoadReportsEveryBadChainOfASharedPair: a failed signature check is not remembered:
// every site whose file holds the same badly signed pair gets its own error, as does each
// load, while the other sites' good chains pass.
func TestLoadReportsEveryBadChainOfASharedPair(t *testing.T) {
	bad := map[int]bool{1: true, 3: true, 4: true}
	fsys := threeChainRepo(t, 6, bad)
	l := schema.NewLoader(schema.LoaderOptions{CacheDir: t.TempDir()})
	for load := range 2 {
		_, err := l.Load(fsys)
		var ds schema.Diagnostics
		if !errors.As(err, &ds) {
			t.Fatalf("load %d: %v, want diagnostics", load, err)
		}
		got := map[string]bool{}
		for _, d := range ds {
			if d.Severity == schema.SeverityError {
				if !strings.Contains(d.Message, `certificate #2 ("intermediate") is not signed by the next one, #3 ("root")`) {
					t.Fatalf("load %d: unexpected error %s: %s", load, d.File, d.Message)
				}
				got[d.File] = true
			}
		}
		want := map[string]bool{"sites/s01.cue": true, "sites/s03.cue": true, "sites/s04.cue": true}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("load %d: errors in %v, want %v", load, got, want)
		}
	}
}
