package gitsource

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
)

// syncBuffer is a bytes.Buffer safe for the log of a goroutine of the scan.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestEarlyFuncPanicIsAMiss: an EarlyBlobs.Func that panics on a blob (as a certificate
// parser could on hostile content) does not end the process: each such blob is a miss, the
// scan goes on with the next, the poll succeeds with the revision whole, and the log says
// so once without quoting the content. Over a real git http-backend and a local path.
func TestEarlyFuncPanicIsAMiss(t *testing.T) {
	const prefix = "-----BEGIN CERTIFICATE-----"
	files := pemLike(prefix, 10)
	repo := testenv.NewGitRepo(t)
	repo.CommitStrings("certs", files)
	srv := testenv.StartGitHTTP(t, repo.Bare, nil)
	for _, url := range []string{srv.URL, repo.Bare} {
		var logs syncBuffer
		var mu sync.Mutex
		calls := 0
		wait := waitEarlyScans(t, 1)
		before := EarlyPanics()
		src := newSource(t, Options{URL: url, Ref: "main", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Early: &EarlyBlobs{Prefix: []byte(prefix), Func: func(hash, content []byte) bool {
				mu.Lock()
				calls++
				n := calls
				mu.Unlock()
				if n%2 == 1 {
					panic("hostile " + string(content)) // a panic value quoting the content
				}
				var m map[string]int
				m["x"]++ // a runtime error
				return true
			}}})
		rev := pollOK(t, src, true, repo.Head())
		wait()
		for name, content := range files {
			if readString(t, rev.FS, name) != content {
				t.Errorf("%s: %s read back changed", url, name)
			}
		}
		if calls != len(files) {
			t.Errorf("%s: %d calls; want %d (the scan goes on past a panic)", url, calls, len(files))
		}
		if got := EarlyPanics() - before; got != int64(len(files)) {
			t.Errorf("%s: EarlyPanics grew by %d; want %d", url, got, len(files))
		}
		out := logs.String()
		if strings.Count(out, "early check of a blob panicked") != 1 || !strings.Contains(out, "blobs=10") {
			t.Errorf("%s: log:\n%s\nwant the first panic and the count", url, out)
		}
		if strings.Contains(out, "MIIB") || strings.Contains(out, "hostile") {
			t.Errorf("%s: the log quotes the content:\n%s", url, out)
		}
	}
}

// TestEarlyScanPanicRecovered: a panic of the scan itself (the pack scanner) ends that scan
// and is logged, without ending the process.
func TestEarlyScanPanicRecovered(t *testing.T) {
	var logs syncBuffer
	g := &earlyGuard{log: slog.New(slog.NewTextHandler(&logs, nil))}
	before := EarlyPanics()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer g.recoverScan()
		var b []byte
		_ = b[len(logs.String())+3] // index out of range
	}()
	<-done
	if EarlyPanics()-before != 1 {
		t.Errorf("EarlyPanics grew by %d; want 1", EarlyPanics()-before)
	}
	if out := logs.String(); !strings.Contains(out, "early scan of the pack panicked") || !strings.Contains(out, "index out of range") {
		t.Errorf("log:\n%s", out)
	}
}
