package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
	"github.com/go-git/go-git/v5/plumbing"
)

// hostilePackProxy serves a real git server's replies, with the pack of every fetch
// replaced by pack while hostile holds.
func hostilePackProxy(t *testing.T, srv *testenv.GitHTTP, pack []byte, hostile *atomic.Bool) string {
	t.Helper()
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target.Host})
	rp.ModifyResponse = func(r *http.Response) error {
		if !hostile.Load() || r.Request.Method != http.MethodPost {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		body = replacePack(body, pack)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	proxy := httptest.NewServer(rp)
	t.Cleanup(proxy.Close)
	return proxy.URL + target.Path
}

// replacePack returns an upload-pack reply (pkt-lines: shallow lines, NAK, then the pack
// in side-band packets) with pack sent instead of the one it holds.
func replacePack(reply, pack []byte) []byte {
	var out bytes.Buffer
	for len(reply) >= 4 {
		n, err := strconv.ParseUint(string(reply[:4]), 16, 16)
		if err != nil || n != 0 && (n < 4 || int(n) > len(reply)) {
			break
		}
		line := reply[:max(n, 4)]
		if n > 4 && line[4] <= 3 {
			break // the first side-band packet
		}
		out.Write(line)
		reply = reply[len(line):]
	}
	for len(pack) > 0 {
		k := min(len(pack), 65515)
		fmt.Fprintf(&out, "%04x\x01", k+5)
		out.Write(pack[:k])
		pack = pack[k:]
	}
	out.WriteString("0000")
	return out.Bytes()
}

// TestGitSourceRefusesHostilePack: a server that answers a fetch with a hostile pack (a
// 20-byte delta saying it makes 1 TiB) fails that poll with ErrPackTooLarge, after one
// fetch (not asking again for a full pack), the early scan reading it beside, and the Source keeps the revision it had: its
// files read, its objects stored, and the next poll of an honest server moves on.
func TestGitSourceRefusesHostilePack(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n"})
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	a := []byte("the quick brown fox jumps over the lazy dog\n")
	pack := craftPack([]rawObject{{t: plumbing.BlobObject, size: -1, data: a},
		{t: plumbing.REFDeltaObject, size: -1, ref: plumbing.ComputeHash(plumbing.BlobObject, a), data: deltaOf(44, 1<<40, 0x90, 44)}}, -1)
	var hostile atomic.Bool
	var early atomic.Int64 // the early scan reads the same pack
	src := newSource(t, Options{URL: hostilePackProxy(t, srv, pack, &hostile), Ref: "main",
		Early: &EarlyBlobs{Prefix: []byte("the"), Func: func(hash, content []byte) bool { early.Add(1); return true }}})
	rev1 := pollOK(t, src, true, c1)

	c2 := repo.CommitStrings("two", map[string]string{"sites/a.cue": "a: 2\n"})
	hostile.Store(true)
	srv.Reset()
	var err error
	alloc := allocatedBy(func() { _, _, err = src.Poll(context.Background()) })
	if !errors.Is(err, ErrPackTooLarge) {
		t.Fatalf("Poll of a hostile pack: %v; want ErrPackTooLarge", err)
	}
	if alloc > 16<<20 {
		t.Errorf("Poll of a hostile pack allocated %d bytes", alloc)
	}
	if srv.Count() != 2 {
		t.Errorf("requests of the failed poll:%s\nwant the references and one fetch", requestsString(srv))
	}
	if src.store.HasEncodedObject(plumbing.NewHash(c1)) != nil {
		t.Error("the revision held is gone from the store")
	}
	if got := readString(t, rev1.FS, "sites/a.cue"); got != "a: 1\n" {
		t.Errorf("a.cue of the revision held = %q", got)
	}
	t.Logf("%v (%d KiB allocated)", err, alloc>>10)

	hostile.Store(false)
	rev2 := pollOK(t, src, true, c2)
	if got := readString(t, rev2.FS, "sites/a.cue"); got != "a: 2\n" {
		t.Errorf("a.cue after = %q", got)
	}
}
