package schema

import "fmt"

// crossCheck is the reference for crossIndex (the checks before they were kept per
// site): it makes the checks that span files: a host declared by two sites, an exact host
// another site's wildcard covers (unless the policy allows it), more than one default site.
// Sites come in name order (the order fs.ReadDir lists files) and the later site is
// blamed, at the offending field.
func crossCheck(sites []*siteDecl, allowOverlap bool) []Diagnostic {
	type owner struct {
		site *siteDecl
		p    pos
	}
	var ds []Diagnostic
	byHost := make(map[string]owner, 2*len(sites))
	at := func(d *siteDecl, p pos, format string, args ...any) {
		ds = append(ds, Diagnostic{File: d.File, Line: p.Line, Col: p.Col, Severity: SeverityError, Message: fmt.Sprintf(format, args...)})
	}
	where := func(o owner) string {
		return fmt.Sprintf("%s:%d:%d", o.site.File, o.p.Line, o.p.Col)
	}
	var dflt *owner
	for _, d := range sites {
		for _, h := range d.Hosts {
			if o, dup := byHost[h.S]; dup {
				at(d, h.P, "host %q is already declared by site %s (%s); a host name belongs to exactly one site%s", h.S, o.site.Name, where(o), kinds(o.site, d))
				continue
			}
			byHost[h.S] = owner{d, h.P}
		}
		if d.Dflt {
			if dflt != nil {
				at(d, d.DfltPos, "site %s is marked default: true, but site %s already is (%s); only one site may answer unknown SNI", d.Name, dflt.site.Name, where(*dflt))
			} else {
				dflt = &owner{d, d.DfltPos}
			}
		}
	}
	if allowOverlap {
		return ds
	}
	for _, d := range sites {
		for _, h := range d.Hosts {
			parent := wildcardParent(h.S)
			if parent == "" {
				continue
			}
			if o, ok := byHost[parent]; ok && o.site != d {
				at(d, h.P, "host %q is also covered by wildcard %q of site %s (%s); a name must belong to one site%s: remove it here or from the wildcard's site, or set policy: allow_wildcard_overlap: true in edge.cue (the exact name then wins)",
					h.S, parent, o.site.Name, where(o), kinds(o.site, d))
			}
		}
	}
	return ds
}
