package schema

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// crossIndex holds what the checks that span files need (a host declared by two sites, an
// exact host another site's wildcard covers unless the policy allows it, more than one
// default site) so that a load changing a few sites checks again only the sites sharing a
// name with them. Sites are in file order (the order fs.ReadDir lists them, the jobs'
// order) and the later site is blamed, at the offending field.
type crossIndex struct {
	allow bool                   // policy: allow_wildcard_overlap
	hosts map[string][]hostOwner // by host: every declaration of it, in file order
	dflt  []*siteDecl            // the sites marked default, in file order
	diags map[string][]Diagnostic
	// kids lists, by wildcard ("*.x"), the hosts it covers ("a.x") that some site declares.
	// Made when first needed (a load touching a wildcard), then kept up to date.
	kids map[string][]string
}

// hostOwner is one declaration of a host: site d's host number i.
type hostOwner struct {
	d *siteDecl
	i int
}

// newCrossIndex indexes decls (in file order) and checks them all.
func newCrossIndex(decls []*siteDecl, allow bool) *crossIndex {
	x := &crossIndex{allow: allow, hosts: make(map[string][]hostOwner, 2*len(decls)), diags: map[string][]Diagnostic{}}
	for _, d := range decls {
		for i, h := range d.Hosts {
			x.hosts[h.S] = append(x.hosts[h.S], hostOwner{d, i})
		}
		if d.Dflt {
			x.dflt = append(x.dflt, d)
		}
	}
	for _, d := range decls {
		x.check(d)
	}
	return x
}

// check sets the cross-file diagnostics blamed on d.
func (x *crossIndex) check(d *siteDecl) {
	var ds []Diagnostic
	at := func(p pos, format string, args ...any) {
		ds = append(ds, Diagnostic{File: d.File, Line: p.Line, Col: p.Col, Severity: SeverityError, Message: fmt.Sprintf(format, args...)})
	}
	for i, h := range d.Hosts {
		if o := x.hosts[h.S][0]; o.d != d || o.i != i {
			at(h.P, "host %q is already declared by site %s (%s); a host name belongs to exactly one site%s", h.S, o.d.Name, o.where(), kinds(o.d, d))
		}
	}
	if d.Dflt && x.dflt[0] != d {
		o := x.dflt[0]
		at(d.DfltPos, "site %s is marked default: true, but site %s already is (%s); only one site may answer unknown SNI", d.Name, o.Name, fmt.Sprintf("%s:%d:%d", o.File, o.DfltPos.Line, o.DfltPos.Col))
	}
	if !x.allow {
		for _, h := range d.Hosts {
			parent := wildcardParent(h.S)
			if parent == "" {
				continue
			}
			if os := x.hosts[parent]; len(os) > 0 && os[0].d != d {
				o := os[0]
				at(h.P, "host %q is also covered by wildcard %q of site %s (%s); a name must belong to one site%s: remove it here or from the wildcard's site, or set policy: allow_wildcard_overlap: true in edge.cue (the exact name then wins)",
					h.S, parent, o.d.Name, o.where(), kinds(o.d, d))
			}
		}
	}
	if len(ds) == 0 {
		delete(x.diags, d.File)
		return
	}
	x.diags[d.File] = ds
}

// where is the position of the declaration, for messages.
func (o hostOwner) where() string {
	p := o.d.Hosts[o.i].P
	return fmt.Sprintf("%s:%d:%d", o.d.File, p.Line, p.Col)
}

// all returns the cross-file diagnostics, the sites in jobs' order.
func (x *crossIndex) all(jobs []*siteJob) []Diagnostic {
	if len(x.diags) == 0 {
		return nil
	}
	var ds []Diagnostic
	for _, j := range jobs {
		if j.decl != nil {
			ds = append(ds, x.diags[j.file]...)
		}
	}
	return ds
}

// update replaces the declarations old (of sites changed or removed) with added (of sites
// changed or new) and checks again every site whose diagnostics may have changed: those
// sharing a host or the default mark with one of them, or covered by a wildcard of one.
func (x *crossIndex) update(old, added []*siteDecl) {
	touched := map[string]bool{} // hosts, and whether each was declared before
	for _, ds := range [][]*siteDecl{old, added} {
		for _, d := range ds {
			for _, h := range d.Hosts {
				touched[h.S] = len(x.hosts[h.S]) > 0
			}
		}
	}
	dflt := false
	for _, d := range old {
		delete(x.diags, d.File)
		for _, h := range d.Hosts {
			x.hosts[h.S] = dropOwner(x.hosts[h.S], d)
		}
		if d.Dflt {
			dflt = true
			x.dflt = dropDecl(x.dflt, d)
		}
	}
	for _, d := range added {
		for i, h := range d.Hosts {
			x.hosts[h.S] = insertOwner(x.hosts[h.S], hostOwner{d, i})
		}
		if d.Dflt {
			dflt = true
			x.dflt = insertDecl(x.dflt, d)
		}
	}
	for h, before := range touched {
		switch now := len(x.hosts[h]) > 0; {
		case before && !now:
			delete(x.hosts, h)
			x.dropKid(h)
		case !before && now:
			x.addKid(h)
		case !now:
			delete(x.hosts, h)
		}
	}
	x.recheck(touched, dflt, added)
}

// recheck checks again the sites declaring a touched host, covered by a touched wildcard,
// marked default (when dflt), and the added ones.
func (x *crossIndex) recheck(touched map[string]bool, dflt bool, added []*siteDecl) {
	again := map[*siteDecl]bool{}
	for _, d := range added {
		again[d] = true
	}
	for h := range touched {
		for _, o := range x.hosts[h] {
			again[o.d] = true
		}
		if strings.HasPrefix(h, "*.") && !x.allow { // the exact names it covers
			for _, k := range x.kidsOf(h) {
				for _, o := range x.hosts[k] {
					again[o.d] = true
				}
			}
		}
	}
	if dflt {
		for _, d := range x.dflt {
			again[d] = true
		}
	}
	for d := range again {
		x.check(d)
	}
}

// kidsOf returns the declared hosts wildcard w covers, making x.kids on first use.
func (x *crossIndex) kidsOf(w string) []string {
	if x.kids == nil {
		x.kids = map[string][]string{}
		for h := range x.hosts {
			x.addKid(h)
		}
	}
	return x.kids[w]
}

// addKid notes a host newly declared, once x.kids is made.
func (x *crossIndex) addKid(h string) {
	if p := wildcardParent(h); p != "" && x.kids != nil {
		x.kids[p] = append(x.kids[p], h)
	}
}

// dropKid forgets a host no longer declared, once x.kids is made.
func (x *crossIndex) dropKid(h string) {
	p := wildcardParent(h)
	if p == "" || x.kids == nil {
		return
	}
	ks := slices.DeleteFunc(slices.Clone(x.kids[p]), func(k string) bool { return k == h })
	if len(ks) == 0 {
		delete(x.kids, p)
	} else {
		x.kids[p] = ks
	}
}

func dropOwner(os []hostOwner, d *siteDecl) []hostOwner {
	out := os[:0:0]
	for _, o := range os {
		if o.d != d {
			out = append(out, o)
		}
	}
	return out
}

func insertOwner(os []hostOwner, o hostOwner) []hostOwner {
	i := sort.Search(len(os), func(k int) bool {
		return os[k].d.File > o.d.File || os[k].d.File == o.d.File && os[k].i > o.i
	})
	out := make([]hostOwner, 0, len(os)+1)
	return append(append(append(out, os[:i]...), o), os[i:]...)
}

func dropDecl(ds []*siteDecl, d *siteDecl) []*siteDecl {
	out := ds[:0:0]
	for _, x := range ds {
		if x != d {
			out = append(out, x)
		}
	}
	return out
}

func insertDecl(ds []*siteDecl, d *siteDecl) []*siteDecl {
	i := sort.Search(len(ds), func(k int) bool { return ds[k].File > d.File })
	out := make([]*siteDecl, 0, len(ds)+1)
	return append(append(append(out, ds[:i]...), d), ds[i:]...)
}

// kinds says, when one of two sites sharing a name passes TLS through and the other
// terminates it, that a name is one or the other; else "".
func kinds(a, b *siteDecl) string {
	if (a.Pass == nil) == (b.Pass == nil) {
		return ""
	}
	pass, term := a, b
	if a.Pass == nil {
		pass, term = b, a
	}
	return fmt.Sprintf(" (site %s passes TLS through, site %s terminates it; a name is either terminated or passed through, never both)", pass.Name, term.Name)
}
