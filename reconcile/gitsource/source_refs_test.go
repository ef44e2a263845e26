package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
)

// replyMutator changes a real git server's reply as it passes a proxy: get for the
// reference advertisement, post for the upload-pack reply; either may be nil.
type replyMutator struct {
	get, post func(body []byte) io.Reader
	status    int // when not 0, the reply's status
}

// mutatingProxy serves a real git server's replies, changed by the mutator m holds (none
// while it holds nil).
func mutatingProxy(t *testing.T, srv *testenv.GitHTTP, m *atomic.Pointer[replyMutator]) string {
	t.Helper()
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target.Host})
	rp.ErrorLog = nil
	rp.ModifyResponse = func(r *http.Response) error {
		mu := m.Load()
		if mu == nil {
			return nil
		}
		f := mu.get
		if r.Request.Method == http.MethodPost {
			f = mu.post
		}
		if mu.status != 0 {
			r.StatusCode = mu.status
		}
		if f == nil {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		r.Body, r.ContentLength = io.NopCloser(f(body)), -1
		r.Header.Del("Content-Length")
		return nil
	}
	proxy := httptest.NewServer(rp)
	t.Cleanup(proxy.Close)
	return proxy.URL + target.Path
}

// endless repeats line forever.
type endless struct {
	line []byte
	off  int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], e.line[e.off:])
		n += k
		e.off = (e.off + k) % len(e.line)
	}
	return n, nil
}

// pkt is one pkt-line of payload s.
func pkt(s string) []byte { return fmt.Appendf(nil, "%04x%s", len(s)+4, s) }

// refLines returns n reference lines naming hash (stops at n; n < 0: never).
func refLines(hash string, n int) io.Reader {
	if n < 0 {
		return &endless{line: pkt(hash + " refs/heads/flood\n")}
	}
	var b bytes.Buffer
	for i := range n {
		b.Write(pkt(fmt.Sprintf("%s refs/heads/flood-%07d\n", hash, i)))
	}
	return &b
}

// withRefs returns a get mutator adding refs lines before the advertisement's end.
func withRefs(refs func() io.Reader, end bool) func([]byte) io.Reader {
	return func(body []byte) io.Reader {
		head := bytes.TrimSuffix(body, []byte("0000"))
		tail := []byte("0000")
		if !end {
			tail = nil
		}
		return io.MultiReader(bytes.NewReader(head), refs(), bytes.NewReader(tail))
	}
}

// prePack returns the lines of an upload-pack reply before its pack (shallow lines, NAK).
func prePack(reply []byte) []byte {
	full := replacePack(reply, nil)
	return full[:len(full)-len("0000")]
}

// TestGitSourceBoundsReplyBeforePack: a server (a real git http-backend behind a proxy
// that changes its replies) that sends an endless or enormous reference advertisement,
// endless shallow lines, endless side-band progress, a huge side-band or HTTP error
// message, fails that poll with an error naming the limit, quoting at most a few hundred
// bytes of what it sent, having allocated a bounded amount, without logging the flood;
// the Source keeps its revision and moves on once the server is honest again.
func TestGitSourceBoundsReplyBeforePack(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n"})
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	var m atomic.Pointer[replyMutator]
	proxyURL := mutatingProxy(t, srv, &m)
	hash := c1
	big := strings.Repeat("x", 60000)
	cases := []struct {
		name    string
		mut     replyMutator
		want    error
		wantMsg string
	}{
		{"many refs", replyMutator{get: withRefs(func() io.Reader { return refLines(hash, 5000) }, true)},
			ErrReplyTooLarge, "more than 1000 references advertised (MaxRefs)"},
		{"endless refs", replyMutator{get: withRefs(func() io.Reader { return refLines(hash, -1) }, false)},
			ErrReplyTooLarge, "more than 1000 references advertised (MaxRefs)"},
		{"endless long refs", replyMutator{get: withRefs(func() io.Reader {
			return &endless{line: pkt(hash + " refs/heads/" + strings.Repeat("f", 65000) + "\n")}
		}, false)}, ErrReplyTooLarge, "more than the 1048576 bytes a poll may read before the pack (MaxRefBytes"},
		{"endless shallow lines", replyMutator{post: func([]byte) io.Reader {
			return &endless{line: pkt("shallow " + hash + "\n")}
		}}, ErrReplyTooLarge, "(MaxRefBytes"},
		{"endless progress", replyMutator{post: func(body []byte) io.Reader {
			return io.MultiReader(bytes.NewReader(prePack(body)), &endless{line: pkt("\x02counting objects " + big[:1000] + "\r")})
		}}, ErrPackTooLarge, "a fetch may receive on the wire (MaxPackBytes"},
		{"side-band error", replyMutator{post: func(body []byte) io.Reader {
			return io.MultiReader(bytes.NewReader(prePack(body)), bytes.NewReader(pkt("\x03"+big)), strings.NewReader("0000"))
		}}, nil, "bytes more)"},
		{"ERR line", replyMutator{get: func([]byte) io.Reader { return bytes.NewReader(pkt("ERR " + big)) }}, nil, "bytes more)"},
		{"endless 401 body", replyMutator{status: http.StatusUnauthorized, get: func([]byte) io.Reader { return &endless{line: []byte(big)} }},
			nil, "authentication required"},
		{"endless 500 body", replyMutator{status: http.StatusInternalServerError, get: func([]byte) io.Reader { return &endless{line: []byte(big)} }},
			nil, "status code: 500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			src := newSource(t, Options{URL: proxyURL, Ref: "main", MaxRefs: 1000, MaxRefBytes: 1 << 20, MaxPackBytes: 1 << 20,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			m.Store(nil)
			rev1 := pollOK(t, src, true, repo.Head())
			c := repo.CommitStrings("next", map[string]string{"sites/a.cue": "a: " + tc.name + "\n"})
			m.Store(&tc.mut)
			var err error
			alloc := allocatedBy(func() { _, _, err = src.Poll(context.Background()) })
			m.Store(nil)
			switch {
			case err == nil:
				t.Fatal("Poll of a hostile reply succeeded")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("Poll: %v; want %v", err, tc.want)
			case !strings.Contains(err.Error(), tc.wantMsg):
				t.Errorf("Poll: %v; want it to say %q", err, tc.wantMsg)
			}
			if len(err.Error()) > 1024 {
				t.Errorf("the error's text is %d bytes long", len(err.Error()))
			}
			if alloc > 48<<20 {
				t.Errorf("Poll of a hostile reply allocated %d MiB", alloc>>20)
			}
			if n := len(logs.String()); n > 4096 {
				t.Errorf("the poll logged %d bytes", n)
			}
			if got := readString(t, rev1.FS, "sites/a.cue"); !strings.HasPrefix(got, "a: ") {
				t.Errorf("a.cue of the revision held = %q", got)
			}
			t.Logf("%v (%d KiB allocated)", err, alloc>>10)
			rev2 := pollOK(t, src, true, c)
			if got := readString(t, rev2.FS, "sites/a.cue"); got != "a: "+tc.name+"\n" {
				t.Errorf("a.cue after = %q", got)
			}
		})
	}
}

// TestGitSourceMaxRefsLocal: over a local path (git upload-pack run by go-git) and SSH,
// whose replies go-git reads through an internal package, an advertisement of more than
// MaxRefs references (made with real git) fails the poll once read, naming the limit; the
// Source keeps its revision, and moves on once the references are gone.
func TestGitSourceMaxRefsLocal(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	c1 := repo.CommitStrings("one", map[string]string{"sites/a.cue": "a: 1\n"})
	urls := map[string]Options{"local path": {URL: repo.Bare}, "file URL": {URL: "file://" + repo.Bare}}
	if testing.Short() {
		t.Log("-short: not over SSH")
	} else {
		srv := testenv.StartGitSSH(t, repo.Bare)
		urls["ssh"] = Options{URL: srv.URL, Auth: Auth{SSHKeyFile: srv.KeyFile, KnownHostsFile: srv.KnownHostsFile}}
	}
	sources := map[string]*Source{}
	for name, o := range urls {
		o.Ref, o.MaxRefs = "main", 100
		sources[name] = newSource(t, o)
		pollOK(t, sources[name], true, c1)
	}
	var packed strings.Builder
	packed.WriteString("# pack-refs with: peeled fully-peeled sorted\n")
	for i := range 150 {
		fmt.Fprintf(&packed, "%s refs/heads/flood-%04d\n", c1, i)
	}
	packedRefs := filepath.Join(repo.Bare, "packed-refs")
	if err := os.WriteFile(packedRefs, []byte(packed.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c2 := repo.CommitStrings("two", map[string]string{"sites/a.cue": "a: 2\n"})
	for name, src := range sources {
		_, _, err := src.Poll(context.Background())
		if !errors.Is(err, ErrReplyTooLarge) || !strings.Contains(err.Error(), "more than 100 references advertised (MaxRefs)") {
			t.Errorf("%s: Poll with 151 references: %v; want ErrReplyTooLarge naming MaxRefs", name, err)
		}
		if src.last == nil || src.last.Commit != c1 {
			t.Errorf("%s: the revision held changed", name)
		}
	}
	if err := os.Remove(packedRefs); err != nil {
		t.Fatal(err)
	}
	for name, src := range sources {
		if rev := pollOK(t, src, true, c2); readString(t, rev.FS, "sites/a.cue") != "a: 2\n" {
			t.Errorf("%s: a.cue after", name)
		}
	}
}

// TestPktCounter: the pkt-lines of a stream are counted whatever its pieces.
func TestPktCounter(t *testing.T) {
	var b bytes.Buffer
	b.Write(pkt("# service=git-upload-pack\n"))
	b.WriteString("0000")
	for i := range 10 {
		b.Write(pkt(fmt.Sprintf("line %d\n", i)))
	}
	b.WriteString("0000")
	stream := b.Bytes()
	for _, piece := range []int{1, 3, 4, 5, 7, len(stream)} {
		c := &pktCounter{max: 11}
		ok := true
		for p := stream; len(p) > 0; {
			k := min(piece, len(p))
			ok = c.feed(p[:k]) && ok
			p = p[k:]
		}
		if !ok || c.lines != 11 {
			t.Errorf("pieces of %d: ok %v, %d lines; want 11", piece, ok, c.lines)
		}
		c = &pktCounter{max: 10}
		if c.feed(stream) {
			t.Errorf("pieces of %d: 11 lines passed a limit of 10", piece)
		}
	}
}

// TestClipErr: a long error's text is cut, still wrapping it; a short one is unchanged.
func TestClipErr(t *testing.T) {
	short := errors.New("short")
	if clipErr(short) != short || clipErr(nil) != nil {
		t.Error("clipErr changed a short error or nil")
	}
	long := fmt.Errorf("%w: %s", ErrPackTooLarge, strings.Repeat("é", 1000))
	c := clipErr(long)
	if !errors.Is(c, ErrPackTooLarge) || len(c.Error()) > maxErrText+32 || !strings.HasSuffix(c.Error(), "bytes more)") {
		t.Errorf("clipErr: %q", c)
	}
	if !strings.Contains(c.Error(), "é...") {
		t.Errorf("clipErr cut inside a character: %q", c)
	}
}
