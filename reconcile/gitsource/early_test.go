package gitsource

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// earlyRecorder is an EarlyBlobs.Func keeping what it is told, which can stop the scan
// after stopAfter calls (0: never).
type earlyRecorder struct {
	mu        sync.Mutex
	got       map[plumbing.Hash][]byte
	calls     int
	stopAfter int
}

func (r *earlyRecorder) fn(hash, content []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.got[plumbing.Hash(hash)] = content
	return r.stopAfter == 0 || r.calls < r.stopAfter
}

// waitEarlyScans returns a func waiting for n scans to end.
func waitEarlyScans(t *testing.T, n int) func() {
	var wg sync.WaitGroup
	wg.Add(n)
	testHookEarlyDone = wg.Done
	t.Cleanup(func() { testHookEarlyDone = nil })
	return wg.Wait
}

// pemLike returns n files of 2 KiB sharing most of their content (git stores most as deltas
// against another), each starting with prefix.
func pemLike(prefix string, n int) map[string]string {
	body := strings.Repeat("MIIBszCCAVmgAwIBAgIUbGFyZ2Ugc2hhcmVkIGJvZHkgb2YgYSBjaGFpbg\n", 36)
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("certs/c%02d.pem", i)] = fmt.Sprintf("%s\nunique %d\n%s", prefix, i, body)
	}
	return files
}

// TestEarlyBlobsSeesEveryFetchedMatch: over smart HTTP and a local path, a clone tells
// EarlyBlobs of every blob starting with its prefix (those stored as deltas against another
// such blob too), with its git hash and content as the revision has them, and of no other
// blob; the revision is whole. (A match stored as a delta against a blob that does not
// match is missed: the scan keeps only matches as bases.)
func TestEarlyBlobsSeesEveryFetchedMatch(t *testing.T) {
	const prefix = "-----BEGIN CERTIFICATE-----"
	files := pemLike(prefix, 30)
	for i := range 20 {
		files[fmt.Sprintf("sites/s%02d.cue", i)] = fmt.Sprintf("package edge\n\nsites: s%02d: {}\n", i)
	}
	files["certs/other.pem"] = "-----BEGIN PRIVATE KEY-----\nnot told\n"
	repo := testenv.NewGitRepo(t)
	repo.CommitStrings("certs", files)
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	for _, url := range []string{srv.URL, repo.Bare} {
		wait := waitEarlyScans(t, 1)
		rec := &earlyRecorder{got: map[plumbing.Hash][]byte{}}
		src := newSource(t, Options{URL: url, Ref: "main", Early: &EarlyBlobs{Prefix: []byte(prefix), Func: rec.fn}})
		rev := pollOK(t, src, true, repo.Head())
		wait()
		tfs := rev.FS.(*TreeFS)
		want := 0
		for name, content := range files {
			h, ok := tfs.FileHash(name)
			if !ok {
				t.Fatalf("%s: %s has no hash", url, name)
			}
			got, told := rec.got[plumbing.Hash(h)]
			match := strings.HasPrefix(content, prefix)
			if match {
				want++
			}
			switch {
			case told != match:
				t.Errorf("%s: %s told %v; want %v", url, name, told, match)
			case told && !bytes.Equal(got, []byte(content)):
				t.Errorf("%s: %s told with content %q; want %q", url, name, got, content)
			}
			if readString(t, rev.FS, name) != content {
				t.Errorf("%s: %s read back changed", url, name)
			}
		}
		if rec.calls != want {
			t.Errorf("%s: %d calls; want %d (each match once)", url, rec.calls, want)
		}
	}
}

// TestEarlyBlobsStops: when Func returns false the scan stops (no more calls), and the
// fetch is not affected.
func TestEarlyBlobsStops(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	files := pemLike("PEM", 10)
	repo.CommitStrings("certs", files)
	wait := waitEarlyScans(t, 1)
	rec := &earlyRecorder{got: map[plumbing.Hash][]byte{}, stopAfter: 3}
	src := newSource(t, Options{URL: repo.Bare, Ref: "main", Early: &EarlyBlobs{Prefix: []byte("PEM"), Func: rec.fn}})
	rev := pollOK(t, src, true, repo.Head())
	wait()
	if rec.calls != 3 {
		t.Errorf("%d calls; want 3 (the third returned false)", rec.calls)
	}
	for name, content := range files {
		if readString(t, rev.FS, name) != content {
			t.Errorf("%s read back changed", name)
		}
	}
}

// TestEarlyBlobsThinPack: a later fetch (a thin pack of the change) tells of the changed
// blob when its delta base is in the pack, and misses it quietly when the base is only in
// the store; the poll succeeds either way.
func TestEarlyBlobsThinPack(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	files := pemLike("PEM", 5)
	repo.CommitStrings("certs", files)
	wait := waitEarlyScans(t, 2)
	rec := &earlyRecorder{got: map[plumbing.Hash][]byte{}}
	src := newSource(t, Options{URL: repo.Bare, Ref: "main", Early: &EarlyBlobs{Prefix: []byte("PEM"), Func: rec.fn}})
	pollOK(t, src, true, repo.Head())
	changed := files["certs/c02.pem"] + "more\n"
	c2 := repo.CommitStrings("change", map[string]string{"certs/c02.pem": changed})
	rev := pollOK(t, src, true, c2)
	wait()
	if readString(t, rev.FS, "certs/c02.pem") != changed {
		t.Fatal("changed file read back wrong")
	}
	for h, content := range rec.got {
		if plumbing.ComputeHash(plumbing.BlobObject, content) != h {
			t.Errorf("told %s with content of another hash", h)
		}
	}
}

// TestEarlyDeltaTargetSize: the size a delta makes is read from its header, and a delta
// making a blob over maxEarlyBlob is not applied.
func TestEarlyDeltaTargetSize(t *testing.T) {
	base := []byte(strings.Repeat("PEM base line\n", 100))
	target := append(bytes.Clone(base), "more\n"...)
	d := packfile.DiffDelta(base, target)
	if got := deltaTargetSize(d); got != int64(len(target)) {
		t.Errorf("deltaTargetSize = %d; want %d", got, len(target))
	}
	kept := map[int64][]byte{1: base}
	oh := &packfile.ObjectHeader{Type: plumbing.OFSDeltaObject, OffsetReference: 1}
	if got := earlyContent(oh, d, []byte("PEM"), kept, nil); !bytes.Equal(got, target) {
		t.Errorf("earlyContent = %q; want the target", got)
	}
	big := bytes.Repeat(base, maxEarlyBlob/len(base)+1)
	if got := earlyContent(oh, packfile.DiffDelta(base, big), []byte("PEM"), kept, nil); got != nil {
		t.Errorf("earlyContent made a %d-byte blob; want none over %d", len(got), maxEarlyBlob)
	}
	if got := deltaTargetSize([]byte{0x80}); got != -1 {
		t.Errorf("deltaTargetSize of a cut header = %d; want -1", got)
	}
}
