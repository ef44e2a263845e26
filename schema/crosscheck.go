package schema

import "fmt"

// crossCheck makes the checks that span files: a host declared by two sites, an exact host
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
		ds = append(ds, Diagnostic{File: d.file, Line: p.line, Col: p.col, Severity: SeverityError, Message: fmt.Sprintf(format, args...)})
	}
	where := func(o owner) string {
		return fmt.Sprintf("%s:%d:%d", o.site.file, o.p.line, o.p.col)
	}
	var dflt *owner
	for _, d := range sites {
		for _, h := range d.hosts {
			if o, dup := byHost[h.s]; dup {
				at(d, h.p, "host %q is already declared by site %s (%s); a host name belongs to exactly one site", h.s, o.site.name, where(o))
				continue
			}
			byHost[h.s] = owner{d, h.p}
		}
		if d.dflt {
			if dflt != nil {
				at(d, d.dfltPos, "site %s is marked default: true, but site %s already is (%s); only one site may answer unknown SNI", d.name, dflt.site.name, where(*dflt))
			} else {
				dflt = &owner{d, d.dfltPos}
			}
		}
	}
	if allowOverlap {
		return ds
	}
	for _, d := range sites {
		for _, h := range d.hosts {
			parent := wildcardParent(h.s)
			if parent == "" {
				continue
			}
			if o, ok := byHost[parent]; ok && o.site != d {
				at(d, h.p, "host %q is also covered by wildcard %q of site %s (%s); a name must belong to one site: remove it here or from the wildcard's site, or set policy: allow_wildcard_overlap: true in edge.cue (the exact name then wins)",
					h.s, parent, o.site.name, where(o))
			}
		}
	}
	return ds
}
