package gitsource

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// validStateFile returns the state file a Source writes for a small repo, and the
// source's name.
func validStateFile(tb testing.TB) ([]byte, string) {
	tb.Helper()
	repo := testenv.NewGitRepo(tb)
	repo.CommitStrings("one", map[string]string{"sites/a.cue": "package edge\n", "certs/a.pem": "x\n"})
	dir := filepath.Join(tb.TempDir(), "state")
	src, err := New(Options{URL: repo.Bare, StateDir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rev, _, err := src.Poll(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if err := src.SaveAccepted(rev); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, StateFileName))
	if err != nil {
		tb.Fatal(err)
	}
	return b, src.String()
}

// FuzzReadStateFile: whatever the state file holds, reading and restoring it returns a
// revision or an error, never a panic; and a revision restored from a file that differs
// from the valid one has the valid one's files (content addressing).
func FuzzReadStateFile(f *testing.F) {
	valid, name := validStateFile(f)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte(stateMagic + "{}\nPACK\x00\x00\x00\x02\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, StateFileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		h, store, err := readStateFile(dir)
		if err != nil {
			return
		}
		src := &Source{opts: Options{StateDir: dir}, dir: ".", name: name}
		rev, err := src.restoreFrom(context.Background(), h, store)
		if err != nil {
			return
		}
		if !bytes.Equal(data, valid) {
			if got, err := fsReadString(rev, "sites/a.cue"); err != nil || got != "package edge\n" {
				t.Errorf("restored sites/a.cue = %q, %v from a changed file", got, err)
			}
		}
	})
}

func fsReadString(rev *Revision, name string) (string, error) {
	b, err := rev.FS.(*TreeFS).ReadFile(name)
	return string(b), err
}
