package schema

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestMain lets this test binary serve as the evaluation worker of isolated loads.
func TestMain(m *testing.M) {
	RunEvalWorkerIfRequested()
	os.Exit(m.Run())
}

// isolated evaluates one request in a child process with opts and returns the outcome.
func isolated(t *testing.T, opts Isolation, req evalRequest) evalOutcome {
	t.Helper()
	opts.Enabled = true
	p := newProcPool(context.Background(), opts, 1)
	defer p.close()
	return evalSync(p, 0, req)
}

// stringBomb doubles a string 34 times (16 GiB), with + or with interpolation.
func stringBomb(interp bool) []byte {
	var b strings.Builder
	b.WriteString("_s0: \"abcdefghijklmnop\"\n")
	for i := 1; i <= 34; i++ {
		if interp {
			fmt.Fprintf(&b, "_s%d: \"\\(_s%d)\\(_s%d)\"\n", i, i-1, i-1)
		} else {
			fmt.Fprintf(&b, "_s%d: _s%d + _s%d\n", i, i-1, i-1)
		}
	}
	b.WriteString("x: _s34\n")
	return []byte(b.String())
}

// disjunctionBomb is the product of 26 two-way disjunctions of distinct structs.
func disjunctionBomb() []byte {
	var b strings.Builder
	var terms []string
	for i := range 26 {
		fmt.Fprintf(&b, "_d%d: {x%d: 1, z: false} | {y%d: 1, z: false}\n", i, i, i)
		terms = append(terms, fmt.Sprintf("_d%d", i))
	}
	fmt.Fprintf(&b, "_p: %s\nx: _p.z\n", strings.Join(terms, " & "))
	return []byte(b.String())
}

func TestIsolatedMemoryLimit(t *testing.T) {
	if raceEnabled {
		t.Skip("a race-enabled worker has no address-space limit")
	}
	o := isolated(t, Isolation{MemoryLimit: 256 << 20}, evalRequest{Kind: rawFile, File: "sites/bomb.cue", Src: stringBomb(false)})
	want := Diagnostic{File: "sites/bomb.cue", Line: 1, Col: 1, Severity: SeverityError}
	if len(o.diags) != 1 || !strings.HasPrefix(o.diags[0].Message, "evaluation exceeded its memory limit (256 MiB)") {
		t.Fatalf("diagnostics %v; want one saying the memory limit (256 MiB) was exceeded", o.diags)
	}
	if d := o.diags[0]; d.File != want.File || d.Line != 1 || d.Col != 1 || d.Severity != SeverityError || o.transient {
		t.Errorf("got %+v (transient %v); want an error at sites/bomb.cue:1:1, cached", d, o.transient)
	}
}

func TestIsolatedDeadline(t *testing.T) {
	o := isolated(t, Isolation{FileTimeout: time.Second}, evalRequest{Kind: rawFile, File: "sites/spin.cue", Src: disjunctionBomb()})
	if len(o.diags) != 1 || o.diags[0].Line != 1 || !strings.HasPrefix(o.diags[0].Message, "evaluation took longer than 1s") {
		t.Fatalf("diagnostics %v; want one at 1:1 saying evaluation took longer than 1s", o.diags)
	}
}

// TestIsolatedEqualsInProcess evaluates every site file of the valid golden cases and of a
// generated repo in this process and in a child: the declarations must be equal (the
// protocol must carry every field, pointers to zero values included).
func TestIsolatedEqualsInProcess(t *testing.T) {
	files := map[string][]byte{}
	cases, err := filepath.Glob("testdata/*/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		name := strings.TrimSuffix(filepath.ToSlash(c), ".txtar")
		for _, f := range goldenFiles(t, strings.TrimPrefix(name, "testdata/"), "") {
			if strings.HasSuffix(f.Name, ".cue") {
				files[name+"/"+f.Name] = f.Data
			}
		}
	}
	if n := compareIsolated(t, files); n < 10 {
		t.Errorf("only %d files evaluated to a declaration; want a real comparison", n)
	}
}

// compareIsolated evaluates files (by name) in this process and in a child and fails the
// test where the results differ. It returns how many evaluated to a declaration.
func compareIsolated(t testing.TB, files map[string][]byte) int {
	t.Helper()
	ev, err := newEvaluator()
	if err != nil {
		t.Fatal(err)
	}
	p := newProcPool(context.Background(), Isolation{Enabled: true}, 1)
	defer p.close()
	n := 0
	for name, src := range files {
		req := evalRequest{Kind: siteFile, Name: strings.TrimSuffix(path.Base(name), ".cue"), File: name, Src: src}
		var want evalOutcome
		if path.Base(name) == RepoFile {
			req.Kind = repoFile
			want.repo, want.diags = safeEvalRepo(ev, name, src)
		} else {
			want.site, want.diags = safeEvalSite(ev, req.Name, name, src)
		}
		got := evalSync(p, 0, req)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: in a child process:\n%#v\nin this process:\n%#v", name, got, want)
		}
		if want.site != nil || want.repo != nil {
			n++
		}
	}
	return n
}

// TestResponseBounded: an answer larger than maxResponse (a file whose values are huge) is
// replaced by a short diagnostic, not sent. With the data subset no 1 MiB file can make one,
// so the worker's writer is tested directly.
func TestResponseBounded(t *testing.T) {
	huge := strings.Repeat("x", maxResponse+1)
	resp := evalResponse{Seq: 7, Site: &siteDecl{Name: "big", Headers: headersDecl{Set: map[string]string{"X-Big": huge}}}}
	var out bytes.Buffer
	if err := writeResponse(&out, &resp, "sites/big.cue"); err != nil {
		t.Fatal(err)
	}
	if out.Len() > 4096 {
		t.Fatalf("answer of %d bytes; want a short diagnostic", out.Len())
	}
	var got evalResponse
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Seq != 7 || got.Site != nil || len(got.Diags) != 1 || !strings.HasPrefix(got.Diags[0].Message, "evaluation produced") {
		t.Fatalf("answer %+v; want seq 7 with one diagnostic on the bound", got)
	}
	d := got.Diags[0]
	if d.File != "sites/big.cue" || d.Line != 1 || d.Col != 1 || d.Severity != SeverityError {
		t.Errorf("diagnostic %+v; want an error at sites/big.cue:1:1", d)
	}
}
