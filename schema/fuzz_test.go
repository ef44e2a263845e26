package schema_test

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgectl/edge/schema"
)

// Bounds of one fuzz input: far above what any file in the data subset costs (a few MB and
// milliseconds), far below what an evaluation blow-up takes.
const (
	fuzzMemoryBudget = 1 << 30          // address space the process may add while fuzzing
	fuzzInputBudget  = 60 * time.Second // a backstop for an input that spins without allocating
)

// FuzzLoad feeds arbitrary site and repo files (seeded with the golden cases, among them the
// evaluation bombs testdata/invalid/bomb-*.txtar) to the loader: it must never panic or hang, and
// must either return a Config or Diagnostics. The process runs under a memory limit, so an
// input that blows up evaluation kills the fuzz worker ("fatal error: out of memory"), which
// `go test -fuzz` reports as a failing input, instead of taking the machine down; an input
// that spins longer than fuzzInputBudget panics the worker the same way.
func FuzzLoad(f *testing.F) {
	limitAddressSpace(f, fuzzMemoryBudget)
	bombs := 0
	certs, _ := os.ReadDir(filepath.Join("testdata", "certs"))
	base := fstest.MapFS{}
	for _, c := range certs {
		b, _ := os.ReadFile(filepath.Join("testdata", "certs", c.Name()))
		base["certs/"+c.Name()] = &fstest.MapFile{Data: b}
	}
	for _, kind := range []string{"valid", "invalid"} {
		for _, c := range goldenCases(f, kind) {
			site, repo := []byte{}, []byte{}
			for _, file := range c.repoFiles() {
				switch name := file.Name; {
				case name == "edge.cue":
					repo = file.Data
				case path.Dir(name) == "sites" && path.Ext(name) == ".cue" && len(site) == 0:
					site = file.Data
				}
			}
			f.Add(site, repo)
			if strings.HasPrefix(path.Base(c.path), "bomb-") {
				bombs++
			}
		}
	}
	if bombs < 4 {
		f.Fatalf("%d bomb seeds (testdata/invalid/bomb-*.txtar); want the 4 shapes of issue 9", bombs)
	}
	now := func() time.Time { return goldenNow }
	f.Fuzz(func(t *testing.T, site, repo []byte) {
		fsys := fstest.MapFS{}
		for k, v := range base {
			fsys[k] = v
		}
		// The same content under several names: the file-name check and the label check.
		for _, name := range []string{"a", "c", "b"} {
			fsys["sites/"+name+".cue"] = &fstest.MapFile{Data: site}
		}
		if len(repo) > 0 {
			fsys["edge.cue"] = &fstest.MapFile{Data: repo}
		}
		watchdog := time.AfterFunc(fuzzInputBudget, func() {
			panic(fmt.Sprintf("loading the input took more than %v:\nsite: %q\nrepo: %q", fuzzInputBudget, site, repo))
		})
		cfg, err := schema.NewLoader(schema.LoaderOptions{Now: now}).Load(fsys)
		watchdog.Stop()
		switch e := err.(type) {
		case nil:
			if cfg == nil {
				t.Fatal("nil config and nil error")
			}
			checkDiags(t, cfg.Warnings)
		case schema.Diagnostics:
			if cfg != nil || len(e) == 0 {
				t.Fatalf("invalid repo: config %v, %d diagnostics", cfg != nil, len(e))
			}
			checkDiags(t, e)
		default:
			t.Fatalf("error is %T, not Diagnostics: %v", err, err)
		}
	})
}

// checkDiags fails on a diagnostic without a file, a message or a position.
func checkDiags(t *testing.T, ds schema.Diagnostics) {
	t.Helper()
	for _, d := range ds {
		if d.Message == "" || d.File == "" || d.Line < 1 || d.Col < 1 {
			t.Fatalf("diagnostic without file, message or position: %+v", d)
		}
	}
}

// limitAddressSpace lowers the soft RLIMIT_AS of the test process to its current address
// space plus budget, and restores it when f is done. Go dies with "fatal error: out of
// memory" when the limit is hit. Set per process: every fuzz worker runs FuzzLoad itself.
func limitAddressSpace(f *testing.F, budget uint64) {
	statm, err := os.ReadFile("/proc/self/statm")
	var pages uint64
	if err == nil {
		_, err = fmt.Sscan(string(statm), &pages)
	}
	var old syscall.Rlimit
	if err == nil {
		err = syscall.Getrlimit(syscall.RLIMIT_AS, &old)
	}
	if err != nil {
		f.Logf("no memory limit for the fuzz target: %v", err)
		return
	}
	lim := old
	lim.Cur = min(pages*uint64(os.Getpagesize())+budget, old.Max)
	if lim.Cur >= old.Cur {
		return
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
		f.Logf("no memory limit for the fuzz target: %v", err)
		return
	}
	f.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_AS, &old) })
}
