package schema_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func readCacheFile(t *testing.T, cache string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cache, "evalcache"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEvalCacheAppendsChanges: a changed site's record is appended to the file (what was
// there stays byte for byte) until the records no longer wanted would pass half the size
// of those wanted, when the file is rewritten whole; every later start finds every site.
func TestEvalCacheAppendsChanges(t *testing.T) {
	dir, cache, rec := warmFull(t)
	base := readCacheFile(t, cache)
	prev, rewritten := base, false
	for i := range 12 {
		appendFile(t, filepath.Join(dir, "sites", "b.cue"), fmt.Sprintf("\n// change %d\n", i))
		wantEvaluated(t, rec, dir, cache, "sites/b.cue")
		got := readCacheFile(t, cache)
		switch {
		case bytes.HasPrefix(got, prev) && len(got) > len(prev):
			if len(got) > len(base)*3/2+len(base)/10 {
				t.Fatalf("change %d: the file grew to %d bytes from a full write of %d", i, len(got), len(base))
			}
		case len(got) < len(prev):
			rewritten, base = true, got
		default:
			t.Fatalf("change %d: the file (%d bytes) is neither the last one (%d) appended to nor rewritten smaller", i, len(got), len(prev))
		}
		prev = got
		wantEvaluated(t, rec, dir, cache) // the appended record is found
	}
	if !rewritten {
		t.Fatal("twelve changes never rewrote the file")
	}
}

// TestEvalCacheTornAppend: an append cut short (a crash) costs only the site it was for,
// and the next write replaces the file whole.
func TestEvalCacheTornAppend(t *testing.T) {
	dir, cache, rec := warmFull(t)
	base := readCacheFile(t, cache)
	appendFile(t, filepath.Join(dir, "sites", "b.cue"), "\n// changed\n")
	wantEvaluated(t, rec, dir, cache, "sites/b.cue")
	name := filepath.Join(cache, "evalcache")
	if err := os.Truncate(name, int64(len(base)+10)); err != nil {
		t.Fatal(err)
	}
	wantEvaluated(t, rec, dir, cache, "sites/b.cue")
	if got := readCacheFile(t, cache); len(got) == len(base)+10 || bytes.HasPrefix(got, base) && len(got) > len(base)+10 {
		t.Fatalf("the torn file was appended to (%d bytes), not rewritten", len(got))
	}
	wantEvaluated(t, rec, dir, cache)
}
