package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgectl/edge/tests/testenv"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
)

// pollOK polls and fails the test on error, checking changed and the commit.
func pollOK(t *testing.T, src *Source, wantChanged bool, wantCommit string) *Revision {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rev, changed, err := src.Poll(ctx)
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	if changed != wantChanged {
		t.Errorf("Poll changed = %v; want %v", changed, wantChanged)
	}
	if rev.Commit != wantCommit {
		t.Errorf("Poll commit = %s; want %s", rev.Commit, wantCommit)
	}
	return rev
}

func readString(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", name, err)
	}
	return string(b)
}

func newSource(t *testing.T, opts Options) *Source {
	t.Helper()
	src, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// requestsString lists a server's requests for messages.
func requestsString(srv *testenv.GitHTTP) string {
	var b strings.Builder
	for _, r := range srv.Requests() {
		fmt.Fprintf(&b, "\n\t%s", r)
	}
	return b.String()
}

// TestGitSourceHTTPRequests counts the requests a real `git http-backend` receives: an idle
// poll must cost exactly one (the ref advertisement), a change one more fetch.
func TestGitSourceHTTPRequests(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n", "other/x": "x\n"})
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	src := newSource(t, Options{URL: srv.URL, Ref: "main", Subdir: "sites"})

	rev := pollOK(t, src, true, c1)
	if got := readString(t, rev.FS, "a.cue"); got != "a: 1\n" {
		t.Errorf("a.cue = %q", got)
	}
	t.Logf("first poll (clone): %d requests%s", srv.Count(), requestsString(srv))

	for i := range 3 {
		srv.Reset()
		again := pollOK(t, src, false, c1)
		if again != rev {
			t.Errorf("idle poll %d returned a new *Revision; want the same one", i)
		}
		reqs := srv.Requests()
		if len(reqs) != 1 || reqs[0].Method != "GET" || reqs[0].Path != "/config.git/info/refs" ||
			reqs[0].Query != "service=git-upload-pack" || reqs[0].Status != 200 {
			t.Fatalf("idle poll %d: requests:%s\nwant exactly one GET /config.git/info/refs?service=git-upload-pack", i, requestsString(srv))
		}
	}

	c2 := repo.CommitStrings("two", map[string]string{"sites/b.cue": "b: 2\n"})
	srv.Reset()
	rev = pollOK(t, src, true, c2)
	if got := readString(t, rev.FS, "b.cue"); got != "b: 2\n" {
		t.Errorf("b.cue = %q", got)
	}
	// The fetch goes over the session that listed the references: no second listing.
	if reqs := srv.Requests(); len(reqs) != 2 || reqs[0].Method != "GET" || reqs[0].Path != "/config.git/info/refs" ||
		reqs[1].Method != "POST" || reqs[1].Path != "/config.git/git-upload-pack" || reqs[1].Status != 200 {
		t.Errorf("changed poll: requests:%s\nwant GET info/refs, then one POST git-upload-pack", requestsString(srv))
	}

	// A commit outside the subdirectory is a new revision with the same Tree.
	c3 := repo.CommitStrings("three", map[string]string{"other/x": "y\n"})
	rev3 := pollOK(t, src, true, c3)
	if rev3.Tree != rev.Tree {
		t.Errorf("Tree changed (%s -> %s) although sites/ did not", rev.Tree, rev3.Tree)
	}
}

// TestGitSourceForcePush: history rewritten on the server is followed.
func TestGitSourceForcePush(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	repo.CommitStrings("one", map[string]string{"a": "1"})
	c2 := repo.CommitStrings("two", map[string]string{"a": "2"})
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	src := newSource(t, Options{URL: srv.URL, Ref: "main"})
	pollOK(t, src, true, c2)

	c3 := repo.Rewrite("HEAD~1", "rewritten", map[string][]byte{"a": []byte("3")})
	if repo.RemoteHead() != c3 {
		t.Fatal("force-push did not happen")
	}
	rev := pollOK(t, src, true, c3)
	if got := readString(t, rev.FS, "a"); got != "3" {
		t.Errorf("a = %q after force-push; want \"3\"", got)
	}
	// And back to the old commit, which the source no longer has (history was dropped).
	repo.Git("reset", "--hard", c2)
	repo.ForcePush()
	rev = pollOK(t, src, true, c2)
	if got := readString(t, rev.FS, "a"); got != "2" {
		t.Errorf("a = %q after force-push back; want \"2\"", got)
	}
}

// TestGitSourceUnreachable: a stopped server is an error, and polling resumes after.
func TestGitSourceUnreachable(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"a": "1"})
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	src := newSource(t, Options{URL: srv.URL, Ref: "main", Timeout: 10 * time.Second})
	pollOK(t, src, true, c1)

	srv.Stop()
	rev, changed, err := src.Poll(context.Background())
	if err == nil || rev != nil || changed {
		t.Fatalf("Poll with the server stopped = %v, %v, %v; want nil, false, an error", rev, changed, err)
	}
	if !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("error %q; want it to name the URL and say connection refused", err)
	}
	t.Logf("unreachable: %v", err)

	c2 := repo.CommitStrings("two", map[string]string{"a": "2"})
	srv.Restart()
	pollOK(t, src, true, c2)
	pollOK(t, src, false, c2)
}

func TestGitSourceHTTPBasicAuth(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"a": "1"})
	srv := testenv.StartGitHTTP(t, repo.Bare, &testenv.GitHTTPOptions{User: "edge", Password: "s3cret-token"})
	tests := []struct {
		name string
		auth Auth
		is   error
	}{
		{"basic", Auth{Username: "edge", Password: "s3cret-token"}, nil},
		{"token", Auth{Username: "edge", Token: "s3cret-token"}, nil},
		{"none", Auth{}, transport.ErrAuthenticationRequired},
		{"wrong password", Auth{Username: "edge", Password: "nope"}, transport.ErrAuthenticationRequired},
		{"wrong token", Auth{Username: "edge", Token: "nope"}, transport.ErrAuthenticationRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newSource(t, Options{URL: srv.URL, Ref: "main", Auth: tt.auth})
			rev, _, err := src.Poll(context.Background())
			if tt.is == nil {
				if err != nil || rev.Commit != c1 {
					t.Fatalf("Poll = %v, %v; want commit %s", rev, err, c1)
				}
				return
			}
			if !errors.Is(err, tt.is) {
				t.Fatalf("Poll error = %v; want %v", err, tt.is)
			}
			for _, secret := range []string{"s3cret-token", "nope"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q reveals the credential", err)
				}
			}
		})
	}
}

func TestGitSourceRefs(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"a": "1"})
	repo.Tag("v1", "release 1")
	repo.Git("checkout", "--quiet", "-b", "staging")
	repo.Branch = "staging"
	c2 := repo.CommitStrings("on staging", map[string]string{"a": "2"})
	repo.Branch = "main"
	repo.Git("checkout", "--quiet", "main")
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)

	tests := []struct {
		ref, want, wantRef string
	}{
		{"", c1, "refs/heads/main"},
		{"HEAD", c1, "refs/heads/main"},
		{"main", c1, "refs/heads/main"},
		{"staging", c2, "refs/heads/staging"},
		{"refs/heads/staging", c2, "refs/heads/staging"},
		{"v1", c1, "refs/tags/v1"},
		{"refs/tags/v1", c1, "refs/tags/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			src := newSource(t, Options{URL: srv.URL, Ref: tt.ref})
			pollOK(t, src, true, tt.want)
			if src.Ref() != tt.wantRef {
				t.Errorf("Ref() = %q; want %q", src.Ref(), tt.wantRef)
			}
		})
	}

	// Moving the tag is a change.
	src := newSource(t, Options{URL: srv.URL, Ref: "v1"})
	pollOK(t, src, true, c1)
	c3 := repo.CommitStrings("three", map[string]string{"a": "3"})
	repo.Tag("v1", "release 1 again")
	rev := pollOK(t, src, true, c3)
	if got := readString(t, rev.FS, "a"); got != "3" {
		t.Errorf("a = %q at moved tag; want \"3\"", got)
	}

	src = newSource(t, Options{URL: srv.URL, Ref: "nope"})
	if _, _, err := src.Poll(context.Background()); !errors.Is(err, ErrRefNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Poll of a missing ref: %v; want ErrRefNotFound naming it", err)
	}
}

func TestGitSourceEmptyRepo(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	src := newSource(t, Options{URL: srv.URL, Ref: "main"})
	if _, _, err := src.Poll(context.Background()); err == nil {
		t.Fatal("Poll of an empty repository succeeded")
	}
}

// TestGitSourceLocalPath uses go-git's file transport (which runs git-upload-pack).
func TestGitSourceLocalPath(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"a": "1"})
	for _, u := range []string{repo.Bare, "file://" + repo.Bare} {
		src := newSource(t, Options{URL: u})
		pollOK(t, src, true, c1)
		pollOK(t, src, false, c1)
	}
}

// TestGitSourceShallowAndCompact: the source holds one revision's objects, not history.
func TestGitSourceShallowAndCompact(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	src := newSource(t, Options{URL: srv.URL, Ref: "main"})
	var prev string
	for i := range 5 {
		c := repo.CommitStrings(fmt.Sprintf("c%d", i), map[string]string{fmt.Sprintf("d%d/f", i): fmt.Sprint(i), "same": "x"})
		pollOK(t, src, true, c)
		if prev != "" {
			if _, err := src.store.EncodedObject(plumbing.AnyObject, plumbing.NewHash(prev)); err == nil {
				t.Errorf("after poll %d the previous commit %s is still stored", i, prev)
			}
		}
		prev = c
	}
	// One revision: the commit, its root tree and every entry below it (5 dirs, 6 blobs).
	objs := strings.Split(repo.Git("ls-tree", "-r", "-t", "HEAD"), "\n")
	want := 2 + len(objs)
	if got := src.store.len(); got != want {
		t.Errorf("stored objects = %d; want %d (one revision)", got, want)
	}
	shallow, _ := src.store.Shallow()
	if len(shallow) != 1 || shallow[0].String() != prev {
		t.Errorf("shallow = %v; want [%s]", shallow, prev)
	}
}

func TestNewGitSourceErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no url", Options{}, "URL is required"},
		{"bad ref", Options{URL: "https://example.invalid/r.git", Ref: "a..b"}, "invalid ref"},
		{"ssh without key", Options{URL: "ssh://git@example.invalid/r.git"}, "SSH key file is required"},
		{"key on https", Options{URL: "https://example.invalid/r.git", Auth: Auth{SSHKeyFile: "/k"}}, "SSH key is configured"},
		{"token on ssh", Options{URL: "git@example.invalid:r.git", Auth: Auth{SSHKeyFile: "/nonexistent", Token: "t0ken"}}, "is an SSH URL"},
		{"credentials on file", Options{URL: "/srv/repo.git", Auth: Auth{Token: "t0ken"}}, "takes none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "t0ken") {
				t.Errorf("error %q reveals the token", err)
			}
		})
	}
}

func TestGitSourceString(t *testing.T) {
	src := newSource(t, Options{URL: "https://user:pw@example.invalid/r.git", Ref: "main", Subdir: "/sites/"})
	if got, want := src.String(), "https://example.invalid/r.git#main:sites"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}

// BenchmarkGitSourceIdlePoll: one poll of an unchanged remote over smart HTTP (one GET).
func BenchmarkGitSourceIdlePoll(b *testing.B) {
	repo := bigRepo(b, 10000)
	srv := testenv.StartGitHTTP(b, repo.Bare, nil)
	src, err := New(Options{URL: srv.URL, Ref: "main", Subdir: "sites"})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := src.Poll(context.Background()); err != nil {
		b.Fatal(err)
	}
	srv.Reset()
	for b.Loop() {
		if _, changed, err := src.Poll(context.Background()); err != nil || changed {
			b.Fatal(changed, err)
		}
	}
	b.ReportMetric(float64(srv.Count())/float64(b.N), "requests/op")
}

// BenchmarkGitSourceClone10k: first poll of a 10,000-site repo over smart HTTP: ref list,
// shallow fetch and reading every file into the revision.
func BenchmarkGitSourceClone10k(b *testing.B) {
	repo := bigRepo(b, 10000)
	srv := testenv.StartGitHTTP(b, repo.Bare, nil)
	for b.Loop() {
		src, err := New(Options{URL: srv.URL, Ref: "main", Subdir: "sites"})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := src.Poll(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGitSourceChange10k: a poll after one site of 10,000 changed (incremental
// shallow fetch, then reading the new revision).
func BenchmarkGitSourceChange10k(b *testing.B) {
	repo := bigRepo(b, 10000)
	srv := testenv.StartGitHTTP(b, repo.Bare, nil)
	src, err := New(Options{URL: srv.URL, Ref: "main", Subdir: "sites"})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := src.Poll(context.Background()); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		repo.CommitStrings("change", map[string]string{"sites/d000/site00000.cue": fmt.Sprintf("// %d\n", i)})
		b.StartTimer()
		if _, changed, err := src.Poll(context.Background()); err != nil || !changed {
			b.Fatal(changed, err)
		}
	}
}

// TestGitSourceFetchesOnlyTheChange: with 2,000 files in one directory, a one-file change
// is fetched as a thin pack (deltas against the objects already held), so the reply is a
// few hundred bytes, not the directory's tree of 2,000 entries; and the revision read from
// it is complete.
func TestGitSourceFetchesOnlyTheChange(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	files := make(map[string]string, 2000)
	for i := range 2000 {
		files[fmt.Sprintf("sites/site-%04d.cue", i)] = fmt.Sprintf("site: %d\nhosts: [\"s%d.example.com\"]\n", i, i)
	}
	repo.CommitStrings("many", files)
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	src := newSource(t, Options{URL: srv.URL, Ref: "main"})
	pollOK(t, src, true, repo.Head())
	clone := srv.Requests()[len(srv.Requests())-1]

	c2 := repo.CommitStrings("one", map[string]string{"sites/site-0042.cue": "site: 42\n// changed\n"})
	srv.Reset()
	rev := pollOK(t, src, true, c2)
	fetch := srv.Requests()[len(srv.Requests())-1]
	t.Logf("clone reply %d bytes, one-file change reply %d bytes", clone.Bytes, fetch.Bytes)
	if fetch.Method != "POST" || fetch.Bytes > 2048 {
		t.Errorf("one-file change: last request %s with a %d-byte reply; want a POST under 2 KiB (the clone's was %d)", fetch, fetch.Bytes, clone.Bytes)
	}
	if got := readString(t, rev.FS, "sites/site-0042.cue"); got != "site: 42\n// changed\n" {
		t.Errorf("changed file = %q", got)
	}
	ents, err := fs.ReadDir(rev.FS, "sites")
	if err != nil || len(ents) != 2000 {
		t.Fatalf("sites/ has %d entries (err %v); want 2000", len(ents), err)
	}
	if got := readString(t, rev.FS, "sites/site-1999.cue"); got != files["sites/site-1999.cue"] {
		t.Errorf("unchanged file = %q", got)
	}
}

// TestGitSourceThinPackMissingBase: if the objects a thin pack's deltas refer to are not
// held (injected here by dropping them from the store, which a real server cannot cause),
// the fetch is retried in full and the poll still succeeds.
func TestGitSourceThinPackMissingBase(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	big := strings.Repeat("line of a long declaration\n", 200)
	repo.CommitStrings("one", map[string]string{"sites/a.cue": big, "sites/b.cue": "b\n"})
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	var logs testenv.SyncBuffer
	src := newSource(t, Options{URL: srv.URL, Ref: "main", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	rev1 := pollOK(t, src, true, repo.Head())
	c2 := repo.CommitStrings("two", map[string]string{"sites/a.cue": big + "one more line\n"})
	// Drop every object except the commit: whatever the server deltas against is missing.
	commits, err := src.store.IterEncodedObjects(plumbing.CommitObject)
	if err != nil {
		t.Fatal(err)
	}
	kept := newObjectStore()
	if err := commits.ForEach(func(o plumbing.EncodedObject) error { _, err := kept.SetEncodedObject(o); return err }); err != nil {
		t.Fatal(err)
	}
	shallow, _ := src.store.Shallow()
	kept.SetShallow(shallow)
	src.store = kept
	rev2 := pollOK(t, src, true, c2)
	if got := readString(t, rev2.FS, "sites/a.cue"); got != big+"one more line\n" {
		t.Errorf("a.cue after the fallback: %d bytes; want %d", len(got), len(big)+14)
	}
	if got := readString(t, rev2.FS, "sites/b.cue"); got != "b\n" {
		t.Errorf("b.cue = %q", got)
	}
	if !strings.Contains(logs.String(), "fetching in full") {
		t.Errorf("no warning about the full fetch in the log:\n%s", logs.String())
	}
	_ = rev1
}

// TestGitSourceCompactsWithSubdir: with a subdirectory, the store still holds the whole
// tree of the commit (the server may send deltas against any of it), and nothing older.
func TestGitSourceCompactsWithSubdir(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	src := newSource(t, Options{URL: srv.URL, Ref: "main", Subdir: "config"})
	for i := range 3 {
		c := repo.CommitStrings(fmt.Sprint("c", i), map[string]string{
			"config/sites/a.cue": fmt.Sprint("a: ", i, "\n"), "other/x": fmt.Sprint(i), "config/same": "s",
		})
		rev := pollOK(t, src, true, c)
		if got := readString(t, rev.FS, "sites/a.cue"); got != fmt.Sprint("a: ", i, "\n") {
			t.Errorf("poll %d: a.cue = %q", i, got)
		}
	}
	objs := strings.Split(repo.Git("ls-tree", "-r", "-t", "HEAD"), "\n")
	if got, want := src.store.len(), 2+len(objs); got != want {
		t.Errorf("stored objects = %d; want %d (commit, root tree and %d entries)", got, want, len(objs))
	}
	for _, line := range objs {
		h := plumbing.NewHash(strings.Fields(line)[2])
		if _, err := src.store.EncodedObject(plumbing.AnyObject, h); err != nil {
			t.Errorf("%s: not stored", line)
		}
	}
}

// TestGitSourceServerRefusesThinPack: go-git's own server refuses capabilities it does not
// advertise, thin-pack among them; the source then asks again for a full pack, and every
// change still arrives.
func TestGitSourceServerRefusesThinPack(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n", "sites/b.cue": "b\n"})
	src := newSource(t, Options{URL: "file://" + repo.Bare, Ref: "main"})
	src.client = server.NewClient(server.NewFilesystemLoader(osfs.New("/")))
	pollOK(t, src, true, repo.Head())
	for i := 2; i <= 3; i++ {
		if i == 3 && src.noThinUntil.Before(time.Now().Add(50*time.Minute)) {
			t.Errorf("after a refused thin pack, full packs are asked for until %v; want about an hour", src.noThinUntil)
		}
		c := repo.CommitStrings("next", map[string]string{"sites/a.cue": fmt.Sprintf("a: %d\n", i)})
		rev := pollOK(t, src, true, c)
		if got := readString(t, rev.FS, "sites/a.cue"); got != fmt.Sprintf("a: %d\n", i) {
			t.Errorf("change %d: a.cue = %q", i, got)
		}
		if got := readString(t, rev.FS, "sites/b.cue"); got != "b\n" {
			t.Errorf("change %d: b.cue = %q", i, got)
		}
	}
}

// TestGitSourceRevisionIsStandardFS: a polled revision, whose files are read from the
// in-memory git objects on open, passes the standard file system tests, also after a
// change that shares the unchanged files with the previous revision.
func TestGitSourceRevisionIsStandardFS(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n", "sites/b.cue": "b: 1\n", "README.md": "r\n", "empty": ""})
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	src := newSource(t, Options{URL: srv.URL, Ref: "main"})
	rev := pollOK(t, src, true, repo.Head())
	if err := fstest.TestFS(rev.FS, "sites/a.cue", "sites/b.cue", "README.md", "empty"); err != nil {
		t.Fatal(err)
	}
	rev2 := pollOK(t, src, true, repo.CommitStrings("two", map[string]string{"sites/a.cue": "a: 2\n"}))
	if err := fstest.TestFS(rev2.FS, "sites/a.cue", "sites/b.cue", "README.md", "empty"); err != nil {
		t.Fatal(err)
	}
	if got := readString(t, rev.FS, "sites/a.cue"); got != "a: 1\n" {
		t.Errorf("the earlier revision changed: a.cue = %q", got)
	}
}

// TestGitSourceRecoversFromCutFetch: a fetch whose reply is cut off half-way (the stream
// ends after the commit object, before all its trees and blobs) fails that poll, leaves
// nothing half-stored, and the next poll fetches the commit in full.
func TestGitSourceRecoversFromCutFetch(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n"})
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var cut atomic.Bool
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target.Host})
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cut.Load() && r.Method == http.MethodPost {
			w = &cutWriter{ResponseWriter: w, left: 70000} // past the first 64 KiB side-band packet
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	src := newSource(t, Options{URL: proxy.URL + target.Path, Ref: "main"})
	pollOK(t, src, true, repo.Head())

	// Random content, so the pack (about 128 KiB) is far larger than what gets through.
	big := make([]byte, 128<<10)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rnd.Uint32())
	}
	c2 := repo.Commit("big", map[string][]byte{"sites/big.bin": []byte(fmt.Sprintf("%x", big))})
	cut.Store(true)
	if _, _, err := src.Poll(context.Background()); err == nil {
		t.Fatal("Poll with the reply cut off succeeded")
	}
	if err := src.store.HasEncodedObject(plumbing.NewHash(c2)); err == nil {
		t.Error("the commit of the cut-off pack is still stored")
	}
	cut.Store(false)
	rev := pollOK(t, src, true, c2)
	if got := readString(t, rev.FS, "sites/big.bin"); got != fmt.Sprintf("%x", big) {
		t.Errorf("big.bin after recovery: %d bytes; want %d", len(got), 2*len(big))
	}
}

// cutWriter lets left bytes of a response through, then aborts it: the client sees the
// connection end in the middle of the body.
type cutWriter struct {
	http.ResponseWriter
	left int
}

func (w *cutWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		w.ResponseWriter.Write(p[:w.left])
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	w.left -= len(p)
	return w.ResponseWriter.Write(p)
}

func (w *cutWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
