package schema

import "unique"

// Declarations decoded from the evaluation cache (a warm start: every site's) each get
// their own copy of every string, where an evaluation's share the site job's name and file
// and CUE's copies of repeated values. shareDeclStrings gives a decoded declaration of job
// j j's name and file, and one copy per process of the short strings sites repeat (the key's
// mount and field, each route's path, balance and upstreams): about 90 bytes per site.
func shareDeclStrings(d *siteDecl, j *siteJob) {
	if d.Name == j.name {
		d.Name = j.name
	}
	if d.File == j.file {
		d.File = j.file
	}
	d.Key.Mount = intern(d.Key.Mount)
	d.Key.Field = intern(d.Key.Field)
	for i := range d.Routes {
		r := &d.Routes[i]
		r.Path.S = intern(r.Path.S)
		r.Balance = intern(r.Balance)
		for k := range r.Upstreams {
			r.Upstreams[k].S = intern(r.Upstreams[k].S)
		}
	}
}

// intern returns the process's one copy of s.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}
