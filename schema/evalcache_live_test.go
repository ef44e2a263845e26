package schema

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"
)

// liveInFile is what diskCache.live should be after l's last load: the bytes of the
// records of the cache file (read back from disk, the last record of a key winning) that
// the load wants, the records of its cached jobs and of their chains' signature checks.
func liveInFile(t *testing.T, l *Loader) int64 {
	t.Helper()
	b, err := os.ReadFile(l.disk.path)
	if err != nil {
		t.Fatal(err)
	}
	recs, rest := parseCacheRecords(b[len(evalCacheMagic)+32:])
	if rest != 0 {
		t.Fatalf("the cache file ends with %d bytes of a torn record", rest)
	}
	cached := func(j *siteJob) bool { return l.sites[j.file] == j.res && cacheable(j.res) }
	var want int64
	count := func(k [32]byte) {
		p, ok := recs[k]
		if !ok {
			t.Fatalf("the cache file lacks a record the load wants")
		}
		want += int64(evalCacheRecHead + len(p))
	}
	for _, j := range l.last.jobs {
		if j.hasKey && cached(j) {
			count(j.key)
		}
	}
	for _, k := range cacheSigKeys(l.last.jobs, cached) {
		count(k)
	}
	return want
}

// TestEvalCacheLiveCountedAcrossChanges: incremental loads that change, remove, restore
// and re-add sites (some sharing a certificate chain) keep the cache's count of the bytes
// of wanted records equal to what the file holds of them, so the file is rewritten when
// half of it is garbage, neither earlier nor never.
func TestEvalCacheLiveCountedAcrossChanges(t *testing.T) {
	m := testRepo(t)
	const n = 12
	site := func(i int, extra string) []byte { // all on chain a, with sites/a.cue
		name := fmt.Sprintf("s%02d", i)
		return siteWith(name, []string{name + ".a.example"}, "certs/a.pem", extra)
	}
	for i := range n {
		m[fmt.Sprintf("sites/s%02d.cue", i)] = &fstest.MapFile{Data: site(i, "")}
	}
	set := func(i int, extra string) func() {
		return func() { m[fmt.Sprintf("sites/s%02d.cue", i)] = &fstest.MapFile{Data: site(i, extra)} }
	}
	rm := func(is ...int) func() {
		return func() {
			for _, i := range is {
				delete(m, fmt.Sprintf("sites/s%02d.cue", i))
			}
		}
	}
	steps := []struct {
		name   string
		change func()
	}{
		{"one site changed", set(1, "\t// v2\n")},
		{"the change reverted", set(1, "")},
		{"a site removed", rm(4)},
		{"the site back", set(4, "")},
		{"the only site on chain c removed", func() { delete(m, "sites/c.cue") }},
		{"it is back", func() {
			m["sites/c.cue"] = &fstest.MapFile{Data: siteSrc("c", "c.example", "certs/c.pem", "http://127.0.0.1:3003")}
		}},
		{"sites on chain a removed", rm(2, 5, 8, 11)},
		{"back, one changed", func() {
			for _, i := range []int{2, 5, 8} {
				set(i, "")()
			}
			set(11, "\t// v2\n")()
		}},
		{"two changed, one removed", func() {
			set(3, "\t// v2\n")()
			set(6, "\t// v2\n")()
			rm(7)()
		}},
		{"a syntax error", func() { m["sites/s03.cue"] = &fstest.MapFile{Data: []byte("package edge\n\nsites: s03: {\n")} }},
		{"fixed as before", set(3, "\t// v2\n")},
	}
	l := NewLoader(LoaderOptions{Now: func() time.Time { return testNow }, CacheDir: t.TempDir()})
	if _, err := l.Load(diffMap{maps.Clone(m)}); err != nil {
		t.Fatal(err)
	}
	if got, want := l.disk.live, liveInFile(t, l); got != want {
		t.Fatalf("first load: live %d, want %d", got, want)
	}
	appends := 0
	for _, st := range steps {
		before := l.disk.size
		st.change()
		l.Load(diffMap{maps.Clone(m)}) // "a syntax error" fails; its cache write happens all the same
		if l.last == nil {
			t.Fatalf("%s: the load kept no start for the next one", st.name)
		}
		t.Logf("%s: file %d bytes, live %d", st.name, l.disk.size, l.disk.live)
		if l.disk.size > before {
			appends++
			if g := l.disk.garbage(); g > l.disk.live/2 {
				t.Errorf("%s: appended to a file with %d bytes of garbage for %d wanted", st.name, g, l.disk.live)
			}
		}
		if got, want := l.disk.live, liveInFile(t, l); got != want {
			t.Errorf("%s: live %d, want %d (file %d bytes)", st.name, got, want, l.disk.size)
		}
	}
	if appends < 3 {
		t.Fatalf("%d of %d changes appended to the file; the test wants appends to count", appends, len(steps))
	}
	info, err := os.Stat(filepath.Join(l.disk.path))
	if err != nil || info.Size() != l.disk.size {
		t.Fatalf("the file is %v bytes (%v); the cache thinks %d", info, err, l.disk.size)
	}
}
