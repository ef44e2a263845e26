package schema

import (
	"net/http"
)

// headers reads the response headers the site at site sets and removes, and its HSTS
// setting.
func (x *extractor) headers(v val, siteAt fieldPath) headersDecl {
	hv := lookup(v, "headers")
	if !hv.Exists() {
		return headersDecl{}
	}
	at := siteAt.field("headers")
	var d headersDecl
	d.HSTS = x.hsts(hv, at)
	d.Set = x.headersSet(hv, at)
	d.Remove = x.headersRemove(hv, at, d.Set)
	return d
}

// headersSet reads the headers to set, by canonical name; nil when there is no set.
func (x *extractor) headersSet(hv val, headers fieldPath) map[string]string {
	it, err := lookup(hv, "set").Fields()
	if err != nil {
		return nil
	}
	set := map[string]string{}
	for it.Next() {
		name := it.Label()
		val, _ := it.Value().String()
		at := headers.field("set").field(name)
		canon := http.CanonicalHeaderKey(name)
		if canon == "Strict-Transport-Security" {
			x.errorf(at, "set Strict-Transport-Security with headers.hsts, not headers.set")
			continue
		}
		if why := checkHeaderSet(name, val); why != "" {
			x.errorf(at, "%s", why)
			continue
		}
		if _, dup := set[canon]; dup {
			x.errorf(at, "header %s is set twice (header names are case-insensitive)", name)
			continue
		}
		set[canon] = val
	}
	return set
}

// headersRemove reads the headers to remove (canonical names), which must not be in set.
func (x *extractor) headersRemove(hv val, headers fieldPath, set map[string]string) []string {
	var remove []string
	for i, name := range strList(hv, "remove") {
		at := headers.field("remove").index(i)
		canon := http.CanonicalHeaderKey(name)
		if why := checkHeaderRemove(name); why != "" {
			x.errorf(at, "%s", why)
			continue
		}
		if _, both := set[canon]; both {
			x.errorf(at, "header %s is both set and removed; keep one", name)
			continue
		}
		remove = append(remove, canon)
	}
	return remove
}
