package schema

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScanPEMAccepts: what real certificate files look like passes the strict scan.
func TestScanPEMAccepts(t *testing.T) {
	c, err := os.ReadFile(filepath.Join("testdata", "certs", "c.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]string{
		"plain":   string(c),
		"crlf":    strings.ReplaceAll(string(c), "\n", "\r\n"),
		"openssl": "subject=CN = c.example\nissuer=/CN=test\n\n" + string(c) + "\n",
	} {
		cf := parseCertChain([]byte(b))
		if len(cf.problems) != 0 || len(cf.der) != 2 {
			t.Errorf("%s: problems %q, %d certificates; want none and 2", name, cf.problems, len(cf.der))
		}
	}
}

// TestKeyProblemNeverEchoesKey: no message about a key quotes any of its text.
func TestKeyProblemNeverEchoesKey(t *testing.T) {
	n := 0
	for _, f := range goldenFiles(t, "invalid/cert-private-key-forms", "certs/k") {
		name, b := path.Base(f.Name), f.Data
		cf := parseCertChain(b)
		if len(cf.problems) == 0 {
			t.Errorf("%s: accepted", name)
		}
		lines := strings.Split(string(b), "\n")
		key := strings.Join(lines[22:], "\n") // after the 22 lines of c.pem
		for _, p := range cf.problems {
			for _, w := range strings.Fields(key) {
				if len(w) >= 8 && strings.Contains(p, w) {
					t.Errorf("%s: message %q quotes the file's text %q", name, p, w)
				}
			}
		}
		n++
	}
	if n < 10 {
		t.Errorf("only %d key forms checked", n)
	}
}

// FuzzScanPEM: any certificate file is judged without a panic, and no message quotes a run
// of the file's base64 text.
func FuzzScanPEM(f *testing.F) {
	ents, _ := os.ReadDir(filepath.Join("testdata", "certs"))
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join("testdata", "certs", e.Name()))
		f.Add(b)
	}
	for _, c := range []string{"invalid/cert-private-key-forms", "invalid/cert-broken-block"} {
		for _, file := range goldenFiles(f, c, "certs/") {
			f.Add(file.Data)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cf := parseCertChain(b)
		for _, p := range cf.problems {
			for _, w := range strings.FieldsFunc(string(b), func(r rune) bool { return !isB64(r) }) {
				if len(w) >= 16 && strings.Contains(p, w) {
					t.Fatalf("message %q quotes %q of the file", p, w)
				}
			}
		}
	})
}

func isB64(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/'
}

// BenchmarkParseCertChain: the strict scan of a typical two-certificate chain.
func BenchmarkParseCertChain(b *testing.B) {
	c, err := os.ReadFile(filepath.Join("testdata", "certs", "c.pem"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		parseCertChain(c)
	}
}

// BenchmarkScanPEMKeyForms: the scan of files holding keys in every form.
func BenchmarkScanPEMKeyForms(b *testing.B) {
	var files [][]byte
	for _, f := range goldenFiles(b, "invalid/cert-private-key-forms", "certs/") {
		files = append(files, f.Data)
	}
	for b.Loop() {
		for _, f := range files {
			scanPEM(f)
		}
	}
}

// TestHugeRSAKeyRefused: a chain whose issuer has a megabit RSA key is refused before any
// signature is checked with it (which would take minutes of CPU).
func TestHugeRSAKeyRefused(t *testing.T) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n := new(big.Int).Lsh(big.NewInt(1), 1<<20)
	n.Add(n, big.NewInt(1)) // odd, 1,048,577 bits
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "huge"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rsa.PublicKey{N: n, E: 65537}, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := os.ReadFile(filepath.Join("testdata", "certs", "c.pem"))
	if err != nil {
		t.Fatal(err)
	}
	leaf = leaf[:strings.Index(string(leaf), "-----END CERTIFICATE-----")+26]
	file := append(leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	cf := parseCertChain(file)
	if len(cf.problems) != 1 || !strings.Contains(cf.problems[0], "certificate #2 (line 12) has a 1048577-bit RSA key") {
		t.Errorf("problems %q; want the huge key refused", cf.problems)
	}
}

// BenchmarkScanPEM: the strict scan alone of a typical two-certificate chain (most of it is
// looking for private key markers in every line).
func BenchmarkScanPEM(b *testing.B) {
	c, err := os.ReadFile(filepath.Join("testdata", "certs", "c.pem"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(c)))
	b.ReportAllocs()
	for b.Loop() {
		scanPEM(c)
	}
}

// hasKeyMarkerRef is hasKeyMarker as it was, one pass per marker: the reference
// TestHasKeyMarkerMatchesReference holds the one-pass version to.
func hasKeyMarkerRef(line []byte) bool {
	for _, m := range []string{keyMarkerPEM, keyMarkerPuTTY} {
		k := 0
		for _, c := range line {
			switch {
			case c >= 'a' && c <= 'z':
				c -= 'a' - 'A'
			case c < 'A' || c > 'Z':
				continue
			}
			switch {
			case c == m[k]:
				if k++; k == len(m) {
					return true
				}
			case c == m[0]:
				k = 1
			default:
				k = 0
			}
		}
	}
	return false
}

// TestHasKeyMarkerMatchesReference: the one-pass marker search finds exactly what the
// one-pass-per-marker search found, on marker spellings, near misses, interleavings of
// both markers and random lines over the markers' letters.
func TestHasKeyMarkerMatchesReference(t *testing.T) {
	lines := []string{"", "PRIVATE KEY", "-----BEGIN RSA PRIVATE KEY-----", "Private-Key: (256 bit)",
		"private_key", "PRIVATE KE", "PPRIVATEKEY", "PRIVATPRIVATEKEY", "PuTTY-User-Key-File-3: ecdsa",
		"PUTTYUSERKEYFIL", "PUTTY USER PRIVATE KEY FILE", "PUPRIVATEKEYTTY", "P\xffR\x00I v a t e k e y",
		"MIIByzCCAXKgAwIBAgIQc1k9Wec8HjpN2lye79cCtzAKBggqhkjOPQQDAjAtMRQw"}
	r := mrand.New(mrand.NewPCG(1, 2))
	const alphabet = "PRIVATEKYUSFLprivatekyusfl -_:\x00\xff9"
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		lines = append(lines, string(b))
	}
	for _, l := range lines {
		if got, want := hasKeyMarker([]byte(l)), hasKeyMarkerRef([]byte(l)); got != want {
			t.Errorf("hasKeyMarker(%q) = %v; want %v", l, got, want)
		}
	}
}
