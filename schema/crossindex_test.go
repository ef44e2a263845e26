package schema

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// randomDecls makes n sites (files s000..) declaring hosts from a small pool, so that
// duplicates, wildcard overlaps and several defaults are common.
func randomDecls(rng *rand.Rand, n int) []*siteDecl {
	pool := []string{"a.x.test", "b.x.test", "*.x.test", "x.test", "c.y.test", "*.y.test", "y.test", "d.z.test"}
	var ds []*siteDecl
	for i := range n {
		d := &siteDecl{Name: fmt.Sprintf("s%03d", i), File: fmt.Sprintf("sites/s%03d.cue", i)}
		for k := range 1 + rng.IntN(3) {
			d.Hosts = append(d.Hosts, strPos{S: pool[rng.IntN(len(pool))], P: pos{Line: 4, Col: 10 + 12*k}})
		}
		if rng.IntN(5) == 0 {
			d.Dflt, d.DfltPos = true, pos{Line: 7, Col: 2}
		}
		ds = append(ds, d)
	}
	return ds
}

// TestCrossIndexEqualsCrossCheck: the index, made whole and updated site by site, finds
// exactly the diagnostics of the checks over every site.
func TestCrossIndexEqualsCrossCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		allow := round%3 == 0
		decls := randomDecls(rng, 1+rng.IntN(12))
		x := newCrossIndex(decls, allow)
		check := func(what string) {
			t.Helper()
			jobs := make([]*siteJob, len(decls))
			for i, d := range decls {
				jobs[i] = &siteJob{file: d.File, decl: d}
			}
			got, want := x.all(jobs), crossCheck(decls, allow)
			sortDiags(got)
			sortDiags(want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d, %s:\ngot  %v\nwant %v", round, what, got, want)
			}
		}
		check("made whole")
		for step := range 10 {
			i := rng.IntN(len(decls))
			old := decls[i]
			switch repl := randomDecls(rng, 1)[0]; rng.IntN(3) {
			case 0: // changed
				repl.Name, repl.File = old.Name, old.File
				decls[i] = repl
				x.update([]*siteDecl{old}, []*siteDecl{repl})
			case 1: // removed
				decls = slices.Delete(decls, i, i+1)
				x.update([]*siteDecl{old}, nil)
			default: // added
				repl.Name, repl.File = fmt.Sprintf("s%03d", 100+step), fmt.Sprintf("sites/s%03d.cue", 100+step)
				decls = append(decls, repl)
				x.update(nil, []*siteDecl{repl})
			}
			if len(decls) == 0 {
				break
			}
			check(fmt.Sprintf("after step %d", step))
		}
	}
}
