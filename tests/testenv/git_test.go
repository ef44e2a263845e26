package testenv

import (
	"bytes"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
)

func TestGitRepoAndHTTP(t *testing.T) {
	r := NewGitRepo(t)
	c1 := r.CommitStrings("one", map[string]string{"a/b.txt": "hello\n"})
	if r.RemoteHead() != c1 {
		t.Fatalf("RemoteHead = %s; want %s (Commit pushes)", r.RemoteHead(), c1)
	}
	// Reproducible: same content, same clock, same hash.
	r2 := NewGitRepo(t)
	if c := r2.CommitStrings("one", map[string]string{"a/b.txt": "hello\n"}); c != c1 {
		t.Errorf("hash %s; want %s (fixed identity and dates)", c, c1)
	}

	srv := StartGitHTTP(t, r.Bare, &GitHTTPOptions{User: "u", Password: "p"})
	dst := filepath.Join(t.TempDir(), "clone")
	u := strings.Replace(srv.URL, "http://", "http://u:p@", 1)
	if out, err := exec.Command("git", "clone", "--quiet", u, dst).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	if srv.Count() == 0 {
		t.Error("no request counted")
	}
	resp, err := http.Get(srv.URL + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated status %d; want 401", resp.StatusCode)
	}
	reqs := srv.Requests()
	if last := reqs[len(reqs)-1]; last.Status != http.StatusUnauthorized || last.Path != "/config.git/info/refs" {
		t.Errorf("last request %v; want the 401 GET", last)
	}

	c2 := r.Rewrite("HEAD", "rewritten", map[string][]byte{"a/b.txt": nil, "c": []byte("x")})
	if c2 == c1 || r.RemoteHead() != c2 {
		t.Errorf("Rewrite: head %s, remote %s; want a new commit force-pushed", c2, r.RemoteHead())
	}
	r.Tag("v1", "tag")
	if got := r.GitBare("rev-parse", "v1^{commit}"); got != c2 {
		t.Errorf("tag v1 -> %s; want %s", got, c2)
	}

	srv.Stop()
	if _, err := http.Get(srv.URL + "/info/refs"); err == nil {
		t.Error("request after Stop succeeded")
	}
	srv.Restart()
	srv.Reset()
	resp, err = http.Get(srv.URL + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	resp.Body.Close()
	if srv.Count() != 1 {
		t.Errorf("Count after Reset and one request = %d; want 1", srv.Count())
	}
}

func TestStartGitSSH(t *testing.T) {
	r := NewGitRepo(t)
	c1 := r.CommitStrings("one", map[string]string{"x": "1"})
	srv := StartGitSSH(t, r.Bare)
	NeedTool(t, "ssh", "openssh-client")
	dst := filepath.Join(t.TempDir(), "clone")
	cmd := exec.Command("git", "clone", "--quiet", srv.URL, dst)
	cmd.Env = append(r.Env(), "GIT_SSH_COMMAND=ssh -i "+srv.KeyFile+" -o UserKnownHostsFile="+srv.KnownHostsFile+" -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git clone over ssh: %v\n%s", err, out)
	}
	if got, _ := exec.Command("git", "-C", dst, "rev-parse", "HEAD").Output(); strings.TrimSpace(string(got)) != c1 {
		t.Errorf("cloned HEAD %s; want %s", got, c1)
	}
}

func TestCommitSigned(t *testing.T) {
	key, pub := NewPGPKey(t, "Test Signer")
	r := NewGitRepo(t)
	unsigned := r.CommitSigned(nil, "unsigned", map[string][]byte{"a": []byte("1")})
	signed := r.CommitSigned(key, "signed", map[string][]byte{"a": []byte("2")})
	if r.RemoteHead() != signed || r.Git("rev-parse", signed+"^") != unsigned {
		t.Fatalf("remote head %s, parent of %s is %s; want the signed commit pushed on top of %s", r.RemoteHead(), signed, r.Git("rev-parse", signed+"^"), unsigned)
	}
	if s := r.Git("status", "--porcelain"); s != "" {
		t.Errorf("work tree not clean after CommitSigned: %q", s)
	}
	r.Git("fsck", "--strict")
	if obj := r.Git("cat-file", "commit", unsigned); strings.Contains(obj, "gpgsig") || !strings.HasSuffix(obj, "\n\nunsigned") {
		t.Errorf("unsigned commit object:\n%s", obj)
	}
	// The signature covers the object without its gpgsig header, as git verifies it.
	var payload, sig strings.Builder
	inSig := false
	for _, line := range strings.SplitAfter(r.Git("cat-file", "commit", signed), "\n") {
		switch {
		case strings.HasPrefix(line, "gpgsig "):
			inSig = true
			sig.WriteString(strings.TrimPrefix(line, "gpgsig "))
		case inSig && strings.HasPrefix(line, " "):
			sig.WriteString(line[1:])
		default:
			inSig = false
			payload.WriteString(line)
		}
	}
	keyring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(pub))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openpgp.CheckArmoredDetachedSignature(keyring, strings.NewReader(payload.String()), strings.NewReader(sig.String()), nil); err != nil {
		t.Errorf("signature of %s does not verify: %v\npayload:\n%s", signed, err, payload.String())
	}
}
