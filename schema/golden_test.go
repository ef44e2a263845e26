package schema_test

import (
	"bytes"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
)

var (
	update      = flag.Bool("update", false, "rewrite the want.txt golden files")
	updateCerts = flag.Bool("update-certs", false, "regenerate testdata/certs")
)

// goldenNow is the time golden cases are judged at; testdata/certs are made around it.
var goldenNow = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

// TestGenerateCerts regenerates the shared test certificates with -update-certs.
func TestGenerateCerts(t *testing.T) {
	if !*updateCerts {
		t.Skip("run with -update-certs to regenerate testdata/certs")
	}
	dir := filepath.Join("testdata", "certs")
	ca, err := sitegen.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	other, err := sitegen.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	far := time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC)
	issue := func(name string, hosts []string, kt sitegen.KeyType, notAfter time.Time) *sitegen.Leaf {
		l, err := ca.Issue(hosts, kt, notAfter)
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name), l.ChainPEM)
		return l
	}
	issue("a.pem", []string{"a.example", "*.a.example"}, sitegen.ECDSA, far)
	issue("b.pem", []string{"b.example", "www.b.example"}, sitegen.ECDSA, far)
	c := issue("c.pem", []string{"c.example"}, sitegen.ECDSA, far)
	issue("rsa.pem", []string{"r.example"}, sitegen.RSA, far)
	issue("expired.pem", []string{"expired.example"}, sitegen.ECDSA, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	issue("soon.pem", []string{"soon.example"}, sitegen.ECDSA, goldenNow.Add(10*24*time.Hour))
	leafOnly, _ := pem.Decode(c.ChainPEM)
	leafPEM := pem.EncodeToMemory(leafOnly)
	write(t, filepath.Join(dir, "wrongorder.pem"), append(append([]byte(nil), ca.CertPEM...), leafPEM...))
	write(t, filepath.Join(dir, "brokenchain.pem"), append(append([]byte(nil), leafPEM...), other.CertPEM...))
	write(t, filepath.Join(dir, "withkey.pem"), append(append([]byte(nil), c.ChainPEM...), c.KeyPEM...))
	write(t, filepath.Join(dir, "garbage.pem"), []byte("this is not a certificate\n"))
}

func write(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies src into dst (which may exist) with os.CopyFS.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// materialize builds the repo of a golden case in a temp dir: the case's files, the shared
// certificates under certs/ (unless the case has its own), and what setup.txt asks for:
//
//	symlink LINK TARGET   make a symbolic link
//	big FILE BYTES        write a file of that size
//	remove FILE           remove a file (e.g. the shared certs)
//	fifo FILE             make a named pipe
//	rename FILE NAME      rename a file; NAME is Go-quoted ("sites/a\nb.cue"), so it may
//	                      hold any character
func materialize(t *testing.T, caseDir string) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := os.Stat(filepath.Join(caseDir, "certs")); os.IsNotExist(err) {
		copyDir(t, filepath.Join("testdata", "certs"), filepath.Join(dir, "certs"))
	}
	copyDir(t, caseDir, dir)
	os.Remove(filepath.Join(dir, "want.txt"))
	os.Remove(filepath.Join(dir, "setup.txt"))
	setup, err := os.ReadFile(filepath.Join(caseDir, "setup.txt"))
	if err != nil {
		return dir
	}
	for _, line := range strings.Split(strings.TrimSpace(string(setup)), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "symlink":
			os.MkdirAll(filepath.Dir(filepath.Join(dir, f[1])), 0o755)
			if err := os.Symlink(f[2], filepath.Join(dir, f[1])); err != nil {
				t.Fatal(err)
			}
		case len(f) == 3 && f[0] == "big":
			n, _ := strconv.Atoi(f[2])
			line := []byte("// padding padding padding padding padding padding padding\n")
			b := bytes.Repeat(line, n/len(line)+1)
			write(t, filepath.Join(dir, f[1]), append([]byte("package edge\n"), b[:n]...))
		case len(f) == 2 && f[0] == "remove":
			if err := os.RemoveAll(filepath.Join(dir, f[1])); err != nil {
				t.Fatal(err)
			}
		case len(f) == 2 && f[0] == "fifo":
			if err := mkfifo(filepath.Join(dir, f[1])); err != nil {
				t.Skipf("no named pipes here: %v", err)
			}
		case len(f) == 3 && f[0] == "rename":
			to, err := strconv.Unquote(f[2])
			if err != nil {
				t.Fatalf("setup.txt: %q: %v", line, err)
			}
			if err := os.Rename(filepath.Join(dir, f[1]), filepath.Join(dir, to)); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("setup.txt: bad line %q", line)
		}
	}
	return dir
}

// render prints diagnostics one per line, as edgectl validate does.
func render(cfg *schema.Config, err error) string {
	var ds schema.Diagnostics
	switch e := err.(type) {
	case nil:
		ds = cfg.Warnings
	case schema.Diagnostics:
		ds = e
	default:
		return "ERROR " + err.Error() + "\n"
	}
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String() + "\n")
	}
	if err == nil {
		b.WriteString("valid\n")
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, kind := range []string{"invalid", "valid"} {
		cases, err := os.ReadDir(filepath.Join("testdata", kind))
		if err != nil {
			t.Fatal(err)
		}
		if kind == "invalid" && len(cases) < 25 {
			t.Errorf("only %d invalid cases; want at least 25", len(cases))
		}
		for _, c := range cases {
			caseDir := filepath.Join("testdata", kind, c.Name())
			t.Run(kind+"/"+c.Name(), func(t *testing.T) {
				dir := materialize(t, caseDir)
				l := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return goldenNow }})
				cfg, err := l.Load(os.DirFS(dir))
				got := render(cfg, err)
				if kind == "invalid" && err == nil {
					t.Errorf("loaded without error; want invalid:\n%s", got)
				}
				if kind == "valid" && err != nil {
					t.Errorf("want valid; got:\n%s", got)
				}
				wantFile := filepath.Join(caseDir, "want.txt")
				if *update {
					write(t, wantFile, []byte(got))
					return
				}
				want, err := os.ReadFile(wantFile)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if got != string(want) {
					t.Errorf("diagnostics differ (go test -update rewrites %s)\ngot:\n%swant:\n%s", wantFile, got, want)
				}
				// A second load with the warm cache gives the same answer.
				cfg2, err2 := l.Load(os.DirFS(dir))
				if got2 := render(cfg2, err2); got2 != got {
					t.Errorf("second (cached) load differs:\n%s", got2)
				}
			})
		}
	}
}
