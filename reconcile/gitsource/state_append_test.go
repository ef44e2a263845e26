package gitsource

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// appendEnv is a repo of many site files and a source saving to a state dir.
type appendEnv struct {
	t     *testing.T
	repo  *testenv.GitRepo
	state string
	src   *Source
}

func newAppendEnv(t *testing.T) *appendEnv {
	files := map[string][]byte{}
	for i := range 200 {
		files[fmt.Sprintf("sites/s%03d.cue", i)] = []byte(strings.Repeat(fmt.Sprintf("// site %d\n", i), 200))
	}
	e := &appendEnv{t: t, repo: testenv.NewGitRepo(t), state: filepath.Join(t.TempDir(), "state")}
	e.repo.Commit("init", files)
	e.restart()
	return e
}

// restart is a new source on the same state dir, restoring it; it returns the restored
// revision's commit ("" when nothing was restored).
func (e *appendEnv) restart() string {
	e.t.Helper()
	src, err := New(Options{URL: e.repo.Bare, StateDir: e.state})
	if err != nil {
		e.t.Fatal(err)
	}
	e.src = src
	rev, err := src.RestoreAccepted(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	if rev == nil {
		return ""
	}
	return rev.Commit
}

// pollSave polls and saves the revision, and returns it and the state file's size.
func (e *appendEnv) pollSave() (*Revision, int64) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rev, _, err := e.src.Poll(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.src.SaveAccepted(rev); err != nil {
		e.t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(e.state, StateFileName))
	if err != nil {
		e.t.Fatal(err)
	}
	return rev, st.Size()
}

// TestStateFileAppends: a commit changing one file of many appends a small segment to the
// state file instead of rewriting it, a restart restores the last segment's revision with
// its files (and appends on), an append cut short leaves the revision before it, and a file
// with too much garbage is rewritten.
func TestStateFileAppends(t *testing.T) {
	e := newAppendEnv(t)
	rev1, size1 := e.pollSave()
	e.repo.Commit("one", map[string][]byte{"sites/s007.cue": []byte("// changed\n")})
	rev2, size2 := e.pollSave()
	if grew := size2 - size1; grew <= 0 || grew > size1/4 {
		t.Fatalf("the state file went from %d to %d bytes; want a small append", size1, size2)
	}
	if got := e.restart(); got != rev2.Commit {
		t.Fatalf("restored %s; want %s", got, rev2.Commit)
	}
	if got, err := fsReadString(e.src.last, "sites/s007.cue"); err != nil || got != "// changed\n" {
		t.Fatalf("restored sites/s007.cue = %q, %v", got, err)
	}
	e.repo.Commit("two", map[string][]byte{"sites/s008.cue": []byte("// changed too\n")})
	rev3, size3 := e.pollSave()
	if size3 <= size2 || size3-size2 > size1/4 {
		t.Fatalf("after a restart, the state file went from %d to %d bytes; want a small append", size2, size3)
	}

	// A crash in the last append: its segment cut short. The revision before serves, and
	// the next save rewrites the file whole.
	file := filepath.Join(e.state, StateFileName)
	if err := os.Truncate(file, size3-10); err != nil {
		t.Fatal(err)
	}
	if got := e.restart(); got != rev2.Commit {
		t.Fatalf("with the last segment cut short: restored %s; want the one before, %s", got, rev2.Commit)
	}
	if _, size := e.pollSave(); size >= size3 {
		t.Fatalf("after a torn append, the state file is %d bytes; want a rewrite, under %d", size, size3)
	}
	if got := e.restart(); got != rev3.Commit {
		t.Fatalf("restored %s; want %s", got, rev3.Commit)
	}

	// The file changed under the source (another length than it left): the append is
	// refused and the file rewritten, whole.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("junk")
	f.Close()
	e.repo.Commit("three", map[string][]byte{"sites/s009.cue": []byte("// changed three\n")})
	rev4, _ := e.pollSave()
	if got := e.restart(); got != rev4.Commit {
		t.Fatalf("after a save over a file changed under the source: restored %s; want %s", got, rev4.Commit)
	}

	// Big changes pile up garbage: a rewrite keeps the file under twice what it needs.
	var size int64
	for i := range 6 {
		big := map[string][]byte{}
		for j := range 100 {
			big[fmt.Sprintf("sites/s%03d.cue", j)] = []byte(fmt.Sprintf("// round %d\n", i))
		}
		e.repo.Commit(fmt.Sprint("big ", i), big)
		_, size = e.pollSave()
	}
	if size > 2*size1 {
		t.Errorf("after 6 commits changing half the files, the state file is %d bytes; the first was %d", size, size1)
	}
	if got := e.restart(); got == rev1.Commit || got != e.repo.Head() {
		t.Errorf("restored %s; want HEAD %s", got, e.repo.Head())
	}
}
