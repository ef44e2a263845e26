package reconcile_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/schema/sitegen"
)

// stateSource is a GitSource on dir keeping its state in stateDir.
func stateSource(tb testing.TB, dir, stateDir string) *gitsource.Source {
	tb.Helper()
	src, err := gitsource.New(gitsource.Options{URL: dir, StateDir: stateDir,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

// BenchmarkStateSave10k: writing the accepted revision of a 10,000-site repo to the state
// dir (pack encoding, fsync, rename). Reports the file's size.
func BenchmarkStateSave10k(b *testing.B) {
	dir, _ := benchRepo(b, 10000)
	var size int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		state := filepath.Join(b.TempDir(), "state")
		src := stateSource(b, dir, state)
		rev, _, err := src.Poll(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := src.SaveAccepted(rev); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		size = stateFileSize(b, state)
		b.StartTimer()
	}
	b.ReportMetric(float64(size), "state-bytes")
}

// BenchmarkStateSaveOneSiteChange10k: saving the accepted revision of a 10,000-site repo
// after a commit changing one site, the state file holding the revision before: an append
// of the objects the commit added (a rewrite every so often, past 25 % garbage). Reports
// the bytes written per save.
func BenchmarkStateSaveOneSiteChange10k(b *testing.B) {
	dir, _ := benchRepo(b, 10000)
	state := filepath.Join(b.TempDir(), "state")
	src := stateSource(b, dir, state)
	save := func() int64 {
		rev, _, err := src.Poll(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if err := src.SaveAccepted(rev); err != nil {
			b.Fatal(err)
		}
		return stateFileSize(b, state)
	}
	size := save()
	site := filepath.Join(dir, "sites", sitegen.SiteName(42)+".cue")
	orig, err := os.ReadFile(site)
	if err != nil {
		b.Fatal(err)
	}
	var written int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		if err := os.WriteFile(site, fmt.Appendf(nil, "%s\n// change %d\n", orig, i), 0o644); err != nil {
			b.Fatal(err)
		}
		gitCommit(b, dir, fmt.Sprint("change ", i))
		rev, _, err := src.Poll(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := src.SaveAccepted(rev); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		n := stateFileSize(b, state)
		if n > size {
			written += n - size
		} else {
			written += n // rewritten
		}
		size = n
		b.StartTimer()
	}
	b.ReportMetric(float64(written)/float64(b.N), "written-bytes/op")
}

// BenchmarkStateRestore10k: reading the saved revision of a 10,000-site repo back
// (RestoreAccepted: parse the pack, check the commit, read the tree), as a restarted agent
// does before it validates and compiles it.
func BenchmarkStateRestore10k(b *testing.B) {
	dir, _ := benchRepo(b, 10000)
	state := filepath.Join(b.TempDir(), "state")
	src := stateSource(b, dir, state)
	rev, _, err := src.Poll(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if err := src.SaveAccepted(rev); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		got, err := stateSource(b, dir, state).RestoreAccepted(context.Background())
		if err != nil || got == nil || got.Commit != rev.Commit {
			b.Fatalf("restored %v, %v; want %s", got, err, rev.Commit)
		}
	}
}

// BenchmarkAgentRestart10k: a restarted agent's first Step on a 10,000-site repo with its
// state dir: restore, validate, read 10,000 keys, compile, publish (serving from here),
// then one poll finding the repo unchanged. Compare BenchmarkAgentColdCompile10k.
func BenchmarkAgentRestart10k(b *testing.B) {
	dir, keyDir := benchRepo(b, 10000)
	state := filepath.Join(b.TempDir(), "state")
	a := benchAgent(b, stateSource(b, dir, state), keyDir)
	if err := a.Step(context.Background()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		src := stateSource(b, dir, state)
		a := benchAgent(b, src, keyDir)
		b.StartTimer()
		if err := a.Step(context.Background()); err != nil {
			b.Fatal(err)
		}
		if st := a.Status(); st.Serving.Generation != 1 || st.LastPoll.Outcome != "unchanged" {
			b.Fatalf("serving %+v, poll %+v; want the restored commit, unchanged", st.Serving, st.LastPoll)
		}
	}
}

// stateFileSize returns the size of the state file in the state dir.
func stateFileSize(b *testing.B, state string) int64 {
	b.Helper()
	fi, err := os.Stat(filepath.Join(state, gitsource.StateFileName))
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}
