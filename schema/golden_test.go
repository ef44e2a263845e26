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
	"github.com/edgectl/edge/tests/testca"
	"golang.org/x/tools/txtar"
)

var (
	update      = flag.Bool("update", false, "rewrite the want files of the golden cases")
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
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	other, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	far := time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC)
	issue := func(name string, hosts []string, kt testca.KeyType, notAfter time.Time) *testca.Leaf {
		l, err := ca.Issue(hosts, kt, notAfter)
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name), l.ChainPEM)
		return l
	}
	issue("a.pem", []string{"a.example", "*.a.example"}, testca.ECDSA, far)
	issue("b.pem", []string{"b.example", "www.b.example"}, testca.ECDSA, far)
	c := issue("c.pem", []string{"c.example"}, testca.ECDSA, far)
	issue("rsa.pem", []string{"r.example"}, testca.RSA, far)
	issue("expired.pem", []string{"expired.example"}, testca.ECDSA, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	issue("soon.pem", []string{"soon.example"}, testca.ECDSA, goldenNow.Add(10*24*time.Hour))
	leafOnly, _ := pem.Decode(c.ChainPEM)
	leafPEM := pem.EncodeToMemory(leafOnly)
	write(t, filepath.Join(dir, "wrongorder.pem"), append(append([]byte(nil), ca.CertPEM...), leafPEM...))
	write(t, filepath.Join(dir, "brokenchain.pem"), append(append([]byte(nil), leafPEM...), other.CertPEM...))
	write(t, filepath.Join(dir, "withkey.pem"), append(append([]byte(nil), c.ChainPEM...), c.KeyPEM...))
	write(t, filepath.Join(dir, "garbage.pem"), []byte("this is not a certificate\n"))
}

func write(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A golden case is one txtar archive, testdata/valid/NAME.txtar or testdata/invalid/NAME.txtar.
// Its files are the repo, except the file named "want", which holds what the load gives:
// the diagnostics one per line as edgectl validate prints them, then "valid" if the repo is
// valid. The repo also gets the shared certificates testdata/certs under certs/, unless the
// case has files of its own there. The archive's comment lists, one a line, what a file in
// an archive cannot be:
//
//	symlink LINK TARGET   a symbolic link
//	big FILE BYTES        a CUE file of that size
//	fifo FILE             a named pipe
//	rename FILE NAME      a file renamed; NAME is Go-quoted ("sites/a\nb.cue"), so it may
//	                      hold any character
const wantFile = "want"

// goldenCase is one golden case: kind/NAME, its archive's path and content.
type goldenCase struct {
	name, path string
	ar         *txtar.Archive
}

// goldenCases reads the golden cases of kind ("valid" or "invalid").
func goldenCases(t testing.TB, kind string) []goldenCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", kind, "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden cases in testdata/%s (%v)", kind, err)
	}
	var cases []goldenCase
	for _, p := range paths {
		cases = append(cases, goldenCase{name: kind + "/" + strings.TrimSuffix(filepath.Base(p), ".txtar"), path: p, ar: readArchive(t, p)})
	}
	return cases
}

// goldenCaseNamed reads the golden case kind/name.
func goldenCaseNamed(t testing.TB, kind, name string) goldenCase {
	t.Helper()
	p := filepath.Join("testdata", kind, name+".txtar")
	return goldenCase{name: kind + "/" + name, path: p, ar: readArchive(t, p)}
}

func readArchive(t testing.TB, path string) *txtar.Archive {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return ar
}

// repoFiles are the files of the case's repo: all but "want".
func (c goldenCase) repoFiles() []txtar.File {
	var fs []txtar.File
	for _, f := range c.ar.Files {
		if f.Name != wantFile {
			fs = append(fs, f)
		}
	}
	return fs
}

// want is the expected output, if the case has one.
func (c goldenCase) want() (string, bool) {
	for _, f := range c.ar.Files {
		if f.Name == wantFile {
			return string(f.Data), true
		}
	}
	return "", false
}

// setWant rewrites the case's archive with got as its expected output.
func (c goldenCase) setWant(t testing.TB, got string) {
	t.Helper()
	ar := *c.ar
	ar.Files = append(c.repoFiles(), txtar.File{Name: wantFile, Data: []byte(got)})
	write(t, c.path, txtar.Format(&ar))
}

// writeRepo writes the case's repo files (only) into dir.
func (c goldenCase) writeRepo(t testing.TB, dir string) {
	t.Helper()
	for _, f := range c.repoFiles() {
		write(t, filepath.Join(dir, filepath.FromSlash(f.Name)), f.Data)
	}
}

// materialize builds the repo of a golden case in a temp dir: its files, the shared
// certificates (unless it has its own) and the steps of its comment.
func materialize(t testing.TB, c goldenCase) string {
	t.Helper()
	dir := t.TempDir()
	ownCerts := false
	for _, f := range c.repoFiles() {
		ownCerts = ownCerts || strings.HasPrefix(f.Name, "certs/")
	}
	if !ownCerts {
		if err := os.CopyFS(filepath.Join(dir, "certs"), os.DirFS(filepath.Join("testdata", "certs"))); err != nil {
			t.Fatal(err)
		}
	}
	c.writeRepo(t, dir)
	for _, line := range strings.Split(strings.TrimSpace(string(c.ar.Comment)), "\n") {
		if line != "" {
			setupStep(t, dir, line)
		}
	}
	return dir
}

// setupStep carries out one step of a case's comment in dir.
func setupStep(t testing.TB, dir, line string) {
	t.Helper()
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
	case len(f) == 2 && f[0] == "fifo":
		if err := mkfifo(filepath.Join(dir, f[1])); err != nil {
			t.Skipf("no named pipes here: %v", err)
		}
	case len(f) == 3 && f[0] == "rename":
		to, err := strconv.Unquote(f[2])
		if err != nil {
			t.Fatalf("case comment: %q: %v", line, err)
		}
		if err := os.Rename(filepath.Join(dir, f[1]), filepath.Join(dir, to)); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("case comment: bad line %q", line)
	}
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
		cases := goldenCases(t, kind)
		if kind == "invalid" && len(cases) < 25 {
			t.Errorf("only %d invalid cases; want at least 25", len(cases))
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				dir := materialize(t, c)
				l := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return goldenNow }})
				cfg, err := l.Load(os.DirFS(dir))
				got := render(cfg, err)
				if kind == "invalid" && err == nil {
					t.Errorf("loaded without error; want invalid:\n%s", got)
				}
				if kind == "valid" && err != nil {
					t.Errorf("want valid; got:\n%s", got)
				}
				if *update {
					c.setWant(t, got)
					return
				}
				want, ok := c.want()
				if !ok {
					t.Fatalf("%s has no %q file (run go test -update)", c.path, wantFile)
				}
				if got != want {
					t.Errorf("diagnostics differ (go test -update rewrites %s)\ngot:\n%swant:\n%s", c.path, got, want)
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
