package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		if len(cf.problems) != 0 || len(cf.chain) != 2 {
			t.Errorf("%s: problems %q, %d certificates; want none and 2", name, cf.problems, len(cf.chain))
		}
	}
}

// TestKeyProblemNeverEchoesKey: no message about a key quotes any of its text.
func TestKeyProblemNeverEchoesKey(t *testing.T) {
	dir := filepath.Join("testdata", "invalid", "cert-private-key-forms", "certs")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "k") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		cf := parseCertChain(b)
		if len(cf.problems) == 0 {
			t.Errorf("%s: accepted", e.Name())
		}
		lines := strings.Split(string(b), "\n")
		key := strings.Join(lines[22:], "\n") // after the 22 lines of c.pem
		for _, p := range cf.problems {
			for _, w := range strings.Fields(key) {
				if len(w) >= 8 && strings.Contains(p, w) {
					t.Errorf("%s: message %q quotes the file's text %q", e.Name(), p, w)
				}
			}
		}
		n++
	}
	if n < 10 {
		t.Errorf("only %d key forms checked", n)
	}
}
