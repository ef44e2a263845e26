package schema

import (
	"github.com/edgectl/edge/edge/site"
)

// cors reads the cors field of the route at route; nil when it has none.
func (x *extractor) cors(v val, route fieldPath) *site.CORS {
	cv := lookup(v, "cors")
	if !cv.Exists() {
		return nil
	}
	at := route.field("cors")
	c := &site.CORS{}
	c.Credentials, _ = boolean(cv, "credentials")
	seen := map[string]bool{}
	for i, o := range x.corsList(cv, at, "origins", site.MaxCORSOrigins) {
		oat := at.field("origins").index(i)
		switch err := site.CheckCORSOrigin(o); {
		case err != nil:
			x.errorf(oat, "cors: %v", err)
		case seen[o]:
			x.errorf(oat, "cors: origin %q is listed twice", o)
		case o == "*" && c.Credentials:
			x.errorf(oat, "cors: origin \"*\" with credentials: true is refused by browsers; list the origins")
		default:
			seen[o] = true
			c.Origins = append(c.Origins, o)
		}
	}
	for i, m := range x.corsList(cv, at, "methods", site.MaxCORSList) {
		if err := site.CheckMethod(m); err != nil {
			x.errorf(at.field("methods").index(i), "cors methods: %v", err)
			continue
		}
		c.Methods = append(c.Methods, m)
	}
	c.Headers = x.corsHeaders(cv, at, "headers", c.Credentials)
	c.Expose = x.corsHeaders(cv, at, "expose_headers", c.Credentials)
	if d := x.duration(cv, at, "max_age"); d != nil {
		if *d > site.MaxCORSMaxAge {
			x.errorf(at.field("max_age"), "cors max_age %s is longer than %s (browsers cap it lower still)", formatDuration(*d), formatDuration(site.MaxCORSMaxAge))
		} else {
			c.MaxAge = *d
		}
	}
	return c
}

// corsList reads the string list at field of cv, refusing one longer than max.
func (x *extractor) corsList(cv val, at fieldPath, field string, max int) []string {
	l := strList(cv, field)
	if len(l) > max {
		x.errorf(at.field(field), "cors %s: %d entries; at most %d", field, len(l), max)
		return nil
	}
	return l
}

// corsHeaders reads a list of header names; "*" is refused with credentials.
func (x *extractor) corsHeaders(cv val, at fieldPath, field string, creds bool) []string {
	var out []string
	for i, h := range x.corsList(cv, at, field, site.MaxCORSList) {
		hat := at.field(field).index(i)
		switch err := site.CheckHeaderName(h); {
		case err != nil:
			x.errorf(hat, "cors %s: %v", field, err)
		case h == "*" && creds:
			x.errorf(hat, "cors %s: \"*\" with credentials: true means a header named \"*\" to browsers; list the headers", field)
		default:
			out = append(out, h)
		}
	}
	return out
}
