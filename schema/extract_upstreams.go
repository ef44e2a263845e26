package schema

import (
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// upstreamEntry is one element of an upstream list: a URL (or TCP address), or a struct
// {url, weight} (routes only).
type upstreamEntry struct {
	url      string
	weight   int  // 0 when not written
	inStruct bool // written as {url: ..., weight: ...}
}

// upstreamEntries reads the upstreams list of v. The schema has checked each element's
// shape; a struct without url has an empty url, which the readers refuse.
func upstreamEntries(v val) []upstreamEntry {
	f := lookup(v, "upstreams")
	if !f.Exists() {
		return nil
	}
	it, err := f.List()
	if err != nil {
		return nil
	}
	var out []upstreamEntry
	for it.Next() {
		ev := it.Value()
		if s, err := ev.String(); err == nil {
			out = append(out, upstreamEntry{url: s})
			continue
		}
		e := upstreamEntry{inStruct: true}
		e.url, _ = str(ev, "url")
		if w := lookup(ev, "weight"); w.Exists() {
			if n, err := w.Int64(); err == nil && n >= 1 && n <= site.MaxWeight {
				e.weight = int(n)
			}
		}
		out = append(out, e)
	}
	return out
}

// weights reads the weights of the route at at (written as raw), which has n valid
// upstreams: nil when every weight is 1 (or unwritten), else one per upstream. It refuses
// more than site.MaxUpstreams upstreams and a struct without url, and warns of weights
// on a single upstream.
func (x *extractor) weights(v val, at fieldPath, raw string, n int) []int {
	entries := upstreamEntries(v)
	if len(entries) > site.MaxUpstreams {
		x.errorf(at.field("upstreams").index(site.MaxUpstreams), "route %q has %d upstreams; at most %d", raw, len(entries), site.MaxUpstreams)
		return nil
	}
	var ws []int
	weighted := false
	for i, e := range entries {
		if e.inStruct && e.url == "" {
			x.errorf(at.field("upstreams").index(i), "upstreams[%d] of route %q has no url; write {url: \"http://127.0.0.1:3001\", weight: 5}", i, raw)
			return nil
		}
		w := max(e.weight, 1)
		weighted = weighted || w != 1
		ws = append(ws, w)
	}
	if !weighted || len(ws) != n {
		return nil // unweighted, or upstreams refused (the route is invalid anyway)
	}
	if n == 1 {
		x.warnf(at.field("upstreams").index(0), "route %q has a weight but a single upstream, which gets every request", raw)
	}
	return ws
}

// Bounds of a sticky cookie's name and path, far above what a declaration needs: the
// cookie is sent in every response that pins a client.
const (
	maxCookieName = 64
	maxCookiePath = 256
)

// sticky reads the sticky-session setting of the route at route; nil when it has none.
func (x *extractor) sticky(v val, route fieldPath) *site.Sticky {
	sv := lookup(v, "sticky")
	if !sv.Exists() {
		return nil
	}
	at := route.field("sticky")
	s := &site.Sticky{}
	s.Cookie, _ = str(sv, "cookie")
	if len(s.Cookie) > maxCookieName {
		x.errorf(at.field("cookie"), "sticky cookie name is %d bytes long; at most %d", len(s.Cookie), maxCookieName)
	}
	s.Path, _ = str(sv, "path")
	if len(s.Path) > maxCookiePath {
		x.errorf(at.field("path"), "sticky path is %d bytes long; at most %d", len(s.Path), maxCookiePath)
	}
	if s.Path != "" && x.plain(at.field("path"), "sticky path", s.Path) && strings.ContainsAny(s.Path, " ;,\t") {
		x.errorf(at.field("path"), "sticky path %q contains white space, \";\" or \",\", which a cookie path cannot hold", s.Path)
	}
	if d := x.duration(sv, at, "max_age"); d != nil {
		if *d < 1e9 {
			x.errorf(at.field("max_age"), "sticky max_age %s is under a second; leave it out for a cookie that lasts until the browser closes", formatDuration(*d))
		}
		s.MaxAge = *d
	}
	ss, _ := str(sv, "same_site")
	s.SameSite = site.SameSite(ss)
	if h, ok := boolean(sv, "http_only"); ok {
		s.NoHTTPOnly = !h
	}
	return s
}

// assembleUpstreamOptions copies the weights and sticky setting of r into rt.
func assembleUpstreamOptions(rt *site.Route, r routeDecl) {
	if r.Weights != nil {
		rt.Weights = append([]int(nil), r.Weights...)
	}
	if r.Sticky != nil {
		s := *r.Sticky
		rt.Sticky = &s
	}
}
