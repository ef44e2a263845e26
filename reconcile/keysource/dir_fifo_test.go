//go:build unix

package keysource_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// TestDirKeysFIFORefused: a FIFO where a key file belongs is refused as not a regular
// file, by Fetch and by the batch read, at once: opening it does not wait for a writer
// (which would hold the key read, and the agent's start, forever).
func TestDirKeysFIFORefused(t *testing.T) {
	dir, d := ktKeyDir(t)
	ref := batchRef("fifo")
	f, err := keysource.KeyFile(dir, ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(f, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	_, err = d.Fetch(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Fetch: err = %v; want the FIFO refused as not a regular file", err)
	}
	cache := keysource.NewCache(d, 0, 2)
	cache.Sync(context.Background(), []schema.KeyRef{ref})
	e, _ := cache.Lookup(ref)
	if e.Have || e.Err == nil || !strings.Contains(e.Err.Error(), "not a regular file") {
		t.Fatalf("batch: entry %+v; want the FIFO refused as not a regular file", e)
	}
}
