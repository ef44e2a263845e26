package schema_test

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/edgectl/edge/schema"
)

// gitLikeFS is a schema.HashFS over files, hashing each as git does its blobs.
type gitLikeFS struct {
	fstest.MapFS
}

func (g gitLikeFS) FileHash(name string) ([]byte, bool) {
	f, ok := g.MapFS[name]
	if !ok {
		return nil, false
	}
	return gitBlobHash(f.Data), true
}

func gitBlobHash(b []byte) []byte {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return h.Sum(nil)
}

// precheckAll offers every certificate file of fsys to l.PrecheckCert.
func precheckAll(t *testing.T, l *schema.Loader, fsys fstest.MapFS) {
	t.Helper()
	for name, f := range fsys {
		if strings.HasPrefix(name, "certs/") && !l.PrecheckCert(gitBlobHash(f.Data), f.Data) {
			t.Fatalf("PrecheckCert(%s) refused with no load running", name)
		}
	}
}

// diagString is a load's outcome as text: its sites, or every diagnostic with its position.
func diagString(t *testing.T, cfg *schema.Config, err error) string {
	t.Helper()
	var ds schema.Diagnostics
	switch {
	case err == nil:
		return fmt.Sprintf("%d sites, warnings %v", len(cfg.Sites), cfg.Warnings)
	case errors.As(err, &ds):
		var b strings.Builder
		for _, d := range ds {
			fmt.Fprintf(&b, "%s:%d:%d %s %s\n", d.File, d.Line, d.Col, d.Severity, d.Message)
		}
		return b.String()
	}
	t.Fatal(err)
	return ""
}

// TestPrecheckedCertsSkipTheLoadsChecks: certificate files checked ahead with
// PrecheckCert are not checked again by the load (no signature check for the good chains),
// and the load's outcome is the same as without: a file with problems is checked by the
// load, which reports them at the same positions.
func TestPrecheckedCertsSkipTheLoadsChecks(t *testing.T) {
	fsys := threeChainRepo(t, 5, map[int]bool{2: true})
	_, want := schema.NewLoader(schema.LoaderOptions{}).Load(gitLikeFS{fsys})
	var checks atomic.Int64
	schema.SetSigCheckedHook(t, func() { checks.Add(1) })
	l := schema.NewLoader(schema.LoaderOptions{Workers: 1})
	precheckAll(t, l, fsys)
	// 4 good leaves, their intermediate once; the bad file: its leaf, its forged
	// intermediate (fails)
	if got := checks.Swap(0); got != 7 {
		t.Errorf("PrecheckCert made %d signature checks; want 7", got)
	}
	cfg, err := l.Load(gitLikeFS{fsys})
	if got, want := diagString(t, cfg, err), diagString(t, nil, want); got != want {
		t.Errorf("load after PrecheckCert:\n%s\nwant (without):\n%s", got, want)
	}
	if got := checks.Load(); got != 2 {
		t.Errorf("the load made %d signature checks; want 2 (the file with problems, checked again)", got)
	}
	// What was checked ahead served one load: the next checks its changed files itself.
	fsys["certs/s00.pem"], fsys["certs/s02.pem"] = fsys["certs/s02.pem"], fsys["certs/s00.pem"]
	checks.Store(0)
	if _, err := l.Load(gitLikeFS{fsys}); err == nil {
		t.Fatal("swapped certificates loaded without error")
	}
	// each file: its leaf and its intermediate (the load's own memo starts empty)
	if got := checks.Load(); got != 4 {
		t.Errorf("the next load made %d signature checks; want 4", got)
	}
}

// TestPrecheckedCertsReachTheEvalCache: the signature checks of certificates checked ahead
// are written to the evaluation cache, so a restart on it checks none.
func TestPrecheckedCertsReachTheEvalCache(t *testing.T) {
	fsys := threeChainRepo(t, 4, nil)
	dir := t.TempDir()
	l := schema.NewLoader(schema.LoaderOptions{CacheDir: dir})
	precheckAll(t, l, fsys)
	var checks atomic.Int64
	schema.SetSigCheckedHook(t, func() { checks.Add(1) })
	if _, err := l.Load(gitLikeFS{fsys}); err != nil {
		t.Fatal(err)
	}
	if got := checks.Swap(0); got != 0 {
		t.Errorf("load after PrecheckCert made %d signature checks; want 0", got)
	}
	if _, err := schema.NewLoader(schema.LoaderOptions{CacheDir: dir}).Load(gitLikeFS{fsys}); err != nil {
		t.Fatal(err)
	}
	if got := checks.Load(); got != 0 {
		t.Errorf("restart on the cache made %d signature checks; want 0", got)
	}
}

// TestPrecheckCertRefusedDuringALoad: while a load runs PrecheckCert refuses (the caller
// stops offering); once it has returned, offers are taken again.
func TestPrecheckCertRefusedDuringALoad(t *testing.T) {
	fsys := threeChainRepo(t, 2, nil)
	cert := fsys["certs/s00.pem"].Data
	l := schema.NewLoader(schema.LoaderOptions{})
	var during atomic.Int64
	ctx := schema.WithLoadTrace(context.Background(), &schema.LoadTrace{SiteKey: func(schema.KeyRef) {
		if l.PrecheckCert(gitBlobHash(cert), cert) {
			during.Add(1)
		}
	}})
	if _, err := l.LoadContext(ctx, gitLikeFS{fsys}); err != nil {
		t.Fatal(err)
	}
	if n := during.Load(); n != 0 {
		t.Errorf("PrecheckCert accepted %d offers during a load; want 0", n)
	}
	if !l.PrecheckCert(gitBlobHash(cert), cert) {
		t.Error("PrecheckCert refused after the load returned")
	}
}
