package edge

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

// snapshotShape describes what a snapshot serves, for comparing two builds: its sites in
// order, and what each index maps to.
func snapshotShape(s *Snapshot) string {
	if s == nil {
		return "<nil>"
	}
	var b strings.Builder
	for _, e := range s.sites {
		fmt.Fprintf(&b, "site %s %p\n", e.site.Name, e.site)
	}
	line := func(kind, k string, he *hostEntry) string {
		return fmt.Sprintf("%s %s -> %s %p %v\n", kind, k, he.site.site.Name, he.site.site, he.certs)
	}
	var ls []string
	for k, e := range s.byName {
		ls = append(ls, fmt.Sprintf("name %s -> %p\n", k, e.site))
	}
	for k, he := range s.exact {
		ls = append(ls, line("exact", k, he))
	}
	for k, he := range s.wild {
		ls = append(ls, line("wild", k, he))
	}
	sort.Strings(ls)
	b.WriteString(strings.Join(ls, ""))
	if s.def != nil {
		b.WriteString(line("default", "", s.def))
	}
	fmt.Fprintf(&b, "passthrough %v ordered %v\n", s.passthrough, s.ordered)
	return b.String()
}

// TestPatchSnapshotEqualsFullBuild changes a few sites at a time (replaced, removed, added;
// hosts moving, wildcards, default and passthrough sites, conflicts) and compares the
// patched snapshot with a full build of the same sites.
func TestPatchSnapshotEqualsFullBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	hosts := []string{"a.example.com", "b.example.com", "*.example.com", "c.test", "*.c.test", "d.test"}
	c := cert(t, append(slices.Clone(hosts), "*.unique.test")...)
	mk := func(name string) *Site {
		var hs []string
		for _, h := range hosts {
			if rng.IntN(40) == 0 {
				hs = append(hs, h)
			}
		}
		hs = append(hs, name+".unique.test")
		if rng.IntN(8) == 0 {
			return ptSite(name, site.Passthrough{Upstreams: []string{"127.0.0.1:1"}}, hs...)
		}
		s := testSiteCert(name, hs[0], c)
		s.Hosts = hs
		s.Default = rng.IntN(30) == 0
		return s
	}
	var sites []*Site
	for i := range 20 {
		sites = append(sites, mk(fmt.Sprintf("s%02d", i)))
	}
	var prev *Snapshot
	patched := 0
	for step := range 400 {
		next := slices.Clone(sites)
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(next) + 1)
			switch rng.IntN(4) {
			case 0:
				if i == len(next) {
					continue
				}
				next = slices.Delete(next, i, i+1)
			case 1:
				next = append(next, mk(fmt.Sprintf("s%02d", 20+rng.IntN(20))))
			default:
				if i == len(next) {
					continue
				}
				next[i] = mk(next[i].Name)
			}
		}
		slices.SortFunc(next, func(a, b *Site) int { return strings.Compare(a.Name, b.Name) })
		next = slices.CompactFunc(next, func(a, b *Site) bool { return a.Name == b.Name })
		want, werr := buildSnapshot(uint64(step), "c", next, nil, nil)
		got, gerr, ok := patchSnapshot(uint64(step), "c", next, func(*Site, *site.Route) (http.Handler, error) { return noProxyHandler, nil }, prev)
		if ok {
			patched++
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || snapshotShape(got) != snapshotShape(want) {
				t.Fatalf("step %d: patched:\n%v\n%s\nfull build:\n%v\n%s", step, gerr, snapshotShape(got), werr, snapshotShape(want))
			}
		}
		if werr == nil {
			if prev, _ = buildSnapshot(uint64(step), "c", next, nil, prev); prev == nil {
				t.Fatalf("step %d: the build with the previous snapshot failed", step)
			}
			sites = next
		}
	}
	if patched < 100 {
		t.Errorf("patched %d of 400 builds; want most", patched)
	}
	t.Logf("patched %d of 400 builds", patched)
}
