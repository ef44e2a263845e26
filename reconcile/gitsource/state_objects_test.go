package gitsource

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// v1StateFile rewrites the valid state file data (version 2) as version 1 wrote it: the
// same header, then the objects as a git packfile.
func v1StateFile(t *testing.T, data []byte) []byte {
	t.Helper()
	rest := data[len(stateMagic):]
	nl := bytes.IndexByte(rest, '\n')
	store, err := readStateObjects(bufio.NewReader(bytes.NewReader(rest[nl+1:])), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	_, hashes := store.clone()
	var buf bytes.Buffer
	buf.WriteString(stateMagicV1)
	buf.Write(rest[:nl+1])
	if _, err := packfile.NewEncoder(&buf, store, false).Encode(hashes, 0); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestStateFileV1StillRead: a state file written by the previous version (a packfile) is
// restored after an upgrade, with its files.
func TestStateFileV1StillRead(t *testing.T) {
	valid, name := validStateFile(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, StateFileName), v1StateFile(t, valid), 0o600); err != nil {
		t.Fatal(err)
	}
	h, store, err := readStateFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := &Source{opts: Options{StateDir: dir}, dir: ".", name: name}
	rev, err := src.restoreFrom(context.Background(), h, store)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fsReadString(rev, "sites/a.cue"); err != nil || got != "package edge\n" {
		t.Errorf("sites/a.cue = %q, %v", got, err)
	}
}

// TestStateObjectsDamage: an object whose content no longer matches its hash, a file cut
// short, a changed trailer or bytes after it fail the read.
func TestStateObjectsDamage(t *testing.T) {
	valid, _ := validStateFile(t)
	body := valid[len(stateMagic):]
	body = body[bytes.IndexByte(body, '\n')+1:]
	for _, tc := range []struct {
		name, want string
		data       []byte
	}{
		{"content changed", "content hashes to", bytes.Replace(body, []byte("package edge"), []byte("package EDGE"), 1)},
		{"cut short", "truncated", body[:len(body)-40]},
		{"trailer changed", "checksum mismatch", append(bytes.Clone(body[:len(body)-1]), body[len(body)-1]^1)},
		{"data after", "after the trailer", append(bytes.Clone(body), 'x')},
		{"unknown type", "unknown type", append([]byte{9}, body[1:]...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readStateObjects(bufio.NewReader(bytes.NewReader(tc.data)), int64(len(tc.data)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := readStateObjects(bufio.NewReader(bytes.NewReader(body)), int64(len(body))); err != nil {
		t.Fatalf("the valid objects: %v", err)
	}
}
