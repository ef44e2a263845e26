package schema

import (
	"maps"
	"testing"
	"time"
	"unsafe"
)

// TestWarmDeclsShareStrings: declarations a warm load decodes from the evaluation cache
// use their jobs' name and file strings, and one copy of the strings sites repeat.
func TestWarmDeclsShareStrings(t *testing.T) {
	m := testRepo(t)
	opts := LoaderOptions{Now: func() time.Time { return testNow }, CacheDir: t.TempDir()}
	if _, err := NewLoader(opts).Load(diffMap{maps.Clone(m)}); err != nil {
		t.Fatal(err)
	}
	l := NewLoader(opts)
	if _, err := l.Load(diffMap{maps.Clone(m)}); err != nil {
		t.Fatal(err)
	}
	same := func(a, b string) bool { return a == b && unsafe.StringData(a) == unsafe.StringData(b) }
	var first *siteDecl
	for _, j := range l.last.jobs {
		d := j.decl
		if d == nil || l.sites[j.file] == nil {
			t.Fatalf("%s: no declaration", j.file)
		}
		if !same(d.Name, j.name) || !same(d.File, j.file) {
			t.Errorf("%s: the declaration's name and file are copies of the job's", j.file)
		}
		if first == nil {
			first = d
			continue
		}
		if !same(d.Key.Mount, first.Key.Mount) || !same(d.Key.Field, first.Key.Field) ||
			!same(d.Routes[0].Path.S, first.Routes[0].Path.S) || !same(d.Routes[0].Balance, first.Routes[0].Balance) {
			t.Errorf("%s: repeated strings are copies of %s's", j.file, first.File)
		}
	}
	if first == nil || len(l.last.jobs) < 3 {
		t.Fatalf("%d jobs; want the three sites of the test repo", len(l.last.jobs))
	}
}
