package gitsource

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
	"github.com/go-git/go-git/v5/plumbing"
)

// scanPlan is what planSave decided before it kept track of the objects added: a pass over
// every object of store.
func scanPlan(store *objectStore, held stateFile) (rewrite bool, hashes []plumbing.Hash) {
	if held.objs == nil {
		return true, nil
	}
	var live, added int64
	for h, o := range store.objects {
		if _, ok := held.objs[h]; ok {
			live += stateRecordLen(o.Size())
			continue
		}
		hashes = append(hashes, h)
		added += 30 + o.Size()
	}
	return held.size+added-(live+added) > (live+added)/4, hashes
}

// TestPlanSaveAsFullScan: planSave, which looks only at the objects added since the last
// plan, decides what a pass over every object decides (append which objects, or rewrite),
// through adds, compactions that drop objects (some added and dropped unsaved, some added
// again), plans whose save failed (held unknown), and a store that went many polls
// without a plan (its list of additions dropped for a full scan).
func TestPlanSaveAsFullScan(t *testing.T) {
	s := newObjectStore()
	held := stateFile{objs: map[plumbing.Hash]struct{}{}}
	blob := func(i int) plumbing.Hash {
		return storeBlob(t, s, fmt.Sprintf("object %d %s\n", i, string(make([]byte, i%300))))
	}
	save := func(step string, failed bool) {
		t.Helper()
		wantRewrite, wantHashes := scanPlan(s, held)
		p := planSave(s, held)
		if p.rewrite != wantRewrite || !p.rewrite && !sameHashes(p.hashes, wantHashes) {
			t.Fatalf("%s: planSave rewrite %v, %d objects; a full scan: rewrite %v, %d objects", step, p.rewrite, len(p.hashes), wantRewrite, len(wantHashes))
		}
		if failed { // a failed save leaves the file unknown
			held = stateFile{}
			return
		}
		if p.rewrite {
			held = stateFile{objs: map[plumbing.Hash]struct{}{}}
		}
		for _, h := range p.hashes {
			held.objs[h] = struct{}{}
			held.size += stateRecordLen(s.objects[h].Size())
		}
		if p.rewrite {
			held.size = s.recBytes
		}
		var all int64
		for _, o := range s.objects {
			all += stateRecordLen(o.Size())
		}
		if all != s.recBytes {
			t.Fatalf("%s: store counts %d record bytes; its objects make %d", step, s.recBytes, all)
		}
	}
	keep := func(drop func(i int) bool, n int) {
		live := map[plumbing.Hash]struct{}{}
		for i := range n {
			if !drop(i) {
				live[blob(i)] = struct{}{}
			}
		}
		s.keepOnly(live)
	}
	for i := range 200 {
		blob(i)
	}
	save("first save (rewrite: held empty)", false)
	for i := 200; i < 210; i++ {
		blob(i)
	}
	save("ten added: append", false)
	keep(func(i int) bool { return i%50 == 0 }, 215) // drops 5 saved, adds 200-214
	save("some dropped, five added", false)
	for i := 300; i < 310; i++ {
		blob(i)
	}
	keep(func(i int) bool { return i >= 300 && i < 305 }, 310) // 300-304 added and dropped unsaved
	save("added and dropped before a save", false)
	keep(func(i int) bool { return i < 100 }, 310) // a third of the file dead
	save("many dropped: rewrite", false)
	blob(400)
	save("a failed save", true)
	blob(401)
	save("after the failure (rewrite)", false)
	var last plumbing.Hash
	for i := range 3000 { // polls without saves: each adds an object and drops the last one's
		h := blob(1000 + i)
		live := map[plumbing.Hash]struct{}{}
		for k := range s.objects {
			if k != last {
				live[k] = struct{}{}
			}
		}
		s.keepOnly(live)
		last = h
	}
	if !s.freshLost {
		t.Fatal("the list of additions did not outgrow its bound; the test misses the full-scan path")
	}
	save("after many polls without a save (full scan)", false)
	blob(5000)
	save("back to the list", false)
}

func sameHashes(a, b []plumbing.Hash) bool {
	set := func(hs []plumbing.Hash) map[plumbing.Hash]bool {
		m := map[plumbing.Hash]bool{}
		for _, h := range hs {
			m[h] = true
		}
		return m
	}
	x, y := set(a), set(b)
	return len(a) == len(x) && maps.Equal(x, y)
}

// TestSourceWithoutStateDirKeepsNoAdditions: a source without a state dir never saves, so
// after each poll its store lists no additions for a save to plan (at 10,000 sites the
// first clone would otherwise keep 20,000 hashes for nothing); with one, the list waits for
// the save, which takes it.
func TestSourceWithoutStateDirKeepsNoAdditions(t *testing.T) {
	repo := testenv.NewGitRepo(t)
	repo.Commit("init", map[string][]byte{"sites/a.cue": []byte("a\n"), "sites/b.cue": []byte("b\n")})
	for _, dir := range []string{"", filepath.Join(t.TempDir(), "state")} {
		src, err := New(Options{URL: repo.Bare, StateDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		rev, _, err := src.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(src.store.fresh); (n == 0) != (dir == "") {
			t.Errorf("state dir %q: %d additions listed after the poll", dir, n)
		}
		if err := src.SaveAccepted(rev); err != nil {
			t.Fatal(err)
		}
		if n := len(src.store.fresh); n != 0 {
			t.Errorf("state dir %q: %d additions listed after the save", dir, n)
		}
	}
}
