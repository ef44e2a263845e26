package schema

import (
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// pagesDecl is what a site declares of error pages, maintenance and rewrites.
type pagesDecl struct {
	Pages    []pageRef     `json:",omitzero"` // error_pages, in the file's order
	Upstream bool          `json:",omitzero"`
	Maint    *maintDecl    `json:",omitzero"` // nil: no maintenance declared, or false
	Rewrites []rewriteDecl `json:",omitzero"`
}

// pageRef is one entry of error_pages: "404" or "5xx" and the page file.
type pageRef struct {
	Key  string `json:",omitzero"`
	File strPos `json:",omitzero"`
}

type maintDecl struct {
	Off        bool          `json:",omitzero"` // enabled: false (its page is still checked)
	RetryAfter time.Duration `json:",omitzero"` // zero: the default
	Page       strPos        `json:",omitzero"` // S empty: none
}

type rewriteDecl struct {
	From, To strPos `json:",omitzero"`
	Index    int    `json:",omitzero"` // in the file's list
}

// Bounds of maintenance's retry_after.
const (
	minRetryAfter = time.Second
	maxRetryAfter = 7 * 24 * time.Hour
)

// pageTypes are the page files' extensions and the content types they are sent with.
var pageTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".htm":  "text/html; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
	".json": "application/json",
	".xml":  "application/xml",
}

// pages reads error_pages, maintenance and rewrites of the site v written at siteAt.
func (x *extractor) pages(v val, siteAt fieldPath) pagesDecl {
	var d pagesDecl
	if ev := lookup(v, "error_pages"); ev.Exists() {
		d.Pages, d.Upstream = x.errorPages(ev, siteAt.field("error_pages"))
	}
	if mv := lookup(v, "maintenance"); mv.Exists() {
		d.Maint = x.maintenance(mv, siteAt.field("maintenance"))
	}
	d.Rewrites = x.rewrites(v, siteAt)
	return d
}

// errorPages reads the error_pages struct ev written at at.
func (x *extractor) errorPages(ev val, at fieldPath) ([]pageRef, bool) {
	upstream, _ := boolean(ev, "upstream")
	it, err := ev.Fields()
	if err != nil {
		return nil, upstream
	}
	var refs []pageRef
	files := map[string]bool{}
	for it.Next() {
		key := it.Label()
		if key == "upstream" {
			continue
		}
		fat := at.field(key)
		s, _ := it.Value().String()
		p, ok := x.pagePath(fat, "error page "+key, s)
		if !ok {
			continue
		}
		files[p] = true
		refs = append(refs, pageRef{Key: key, File: strPos{p, x.pos(fat)}})
	}
	if len(files) > site.MaxPages {
		x.errorf(at, "error_pages names %d files; at most %d", len(files), site.MaxPages)
	}
	if upstream && !hasServerPage(refs) {
		x.warnf(at.field("upstream"), "error_pages.upstream is true but no 5xx page is declared, so no upstream response is changed; add e.g. \"5xx\": \"pages/5xx.html\"")
	}
	return refs, upstream
}

func hasServerPage(refs []pageRef) bool {
	for _, r := range refs {
		if strings.HasPrefix(r.Key, "5") {
			return true
		}
	}
	return false
}

// pagePath checks the page file s written at at (what names it in messages): a clean path
// inside the repo with a known extension. It returns the cleaned path.
func (x *extractor) pagePath(at fieldPath, what, s string) (string, bool) {
	if !x.plain(at, what, s) {
		return "", false
	}
	clean := path.Clean(s)
	if !fs.ValidPath(clean) || clean == "." || strings.HasPrefix(s, "/") {
		x.errorf(at, "%s %q is not a file path inside the repo; want e.g. \"pages/404.html\"", what, s)
		return "", false
	}
	if _, ok := pageTypes[strings.ToLower(path.Ext(clean))]; !ok {
		x.errorf(at, "%s %q: a page is a .html, .htm, .txt, .json or .xml file (its extension gives its Content-Type)", what, s)
		return "", false
	}
	return clean, true
}

// maintenance reads the maintenance switch mv written at at: nil for false. A switch
// with enabled: false is checked all the same (its page too), so turning it on cannot fail.
func (x *extractor) maintenance(mv val, at fieldPath) *maintDecl {
	if b, err := mv.Bool(); err == nil {
		if !b {
			return nil
		}
		return &maintDecl{}
	}
	m := &maintDecl{}
	if on, ok := boolean(mv, "enabled"); ok && !on {
		m.Off = true
	}
	if d := x.duration(mv, at, "retry_after"); d != nil {
		if *d < minRetryAfter || *d > maxRetryAfter {
			x.errorf(at.field("retry_after"), "maintenance retry_after %s is out of range; want from %s to %s", formatDuration(*d), formatDuration(minRetryAfter), formatDuration(maxRetryAfter))
		}
		m.RetryAfter = *d
	}
	if s, ok := str(mv, "page"); ok {
		pat := at.field("page")
		if p, ok := x.pagePath(pat, "maintenance page", s); ok {
			m.Page = strPos{p, x.pos(pat)}
		}
	}
	return m
}

// rewrites reads the rewrites of the site v, compiling each (as the data plane will) to
// report a bad pattern or target at its field, and warns of chains, which are not followed.
func (x *extractor) rewrites(v val, siteAt fieldPath) []rewriteDecl {
	it, err := lookup(v, "rewrites").List()
	if err != nil {
		return nil
	}
	at := siteAt.field("rewrites")
	var out []rewriteDecl
	var rules []*site.RewriteRule
	for i := 0; it.Next(); i++ {
		if i == site.MaxRewrites {
			x.errorf(at.index(i), "more than %d rewrites; at most %d", site.MaxRewrites, site.MaxRewrites)
			break
		}
		eat := at.index(i)
		from, _ := str(it.Value(), "from")
		to, _ := str(it.Value(), "to")
		rw := rewriteDecl{From: strPos{from, x.pos(eat.field("from"))}, To: strPos{to, x.pos(eat.field("to"))}, Index: i}
		rr, err := site.CompileRewrite(site.Rewrite{From: from, To: to})
		if err != nil {
			x.rewriteError(eat, rw, err)
			continue
		}
		out = append(out, rw)
		rules = append(rules, rr)
	}
	x.rewriteChains(at, out, rules)
	return out
}

// rewriteError reports err, a *site.RewriteError, at the field it is about.
func (x *extractor) rewriteError(eat fieldPath, rw rewriteDecl, err error) {
	re, ok := err.(*site.RewriteError)
	if !ok {
		x.errorf(eat, "rewrite %q: %v", rw.From.S, err)
		return
	}
	text := rw.From.S
	if re.Field == "to" {
		text = rw.To.S
	}
	if len(text) > 64 {
		text = text[:60] + "…"
	}
	x.errorf(eat.field(re.Field), "rewrite %s %q: at character %d: %s", re.Field, text, re.Offset+1, re.Msg)
}

// rewriteChains warns when a rewrite's result (captures stood in for by "x") is matched
// by another rewrite's pattern: rewrites apply once, so that one is not applied to it.
func (x *extractor) rewriteChains(at fieldPath, rws []rewriteDecl, rules []*site.RewriteRule) {
	for i, rr := range rules {
		sample := sampleResult(rr)
		for j, other := range rules {
			if i == j {
				continue
			}
			if _, _, ok := other.Apply(sample, ""); ok {
				x.warnf(at.index(rws[i].Index).field("to"), "rewrite to %q makes paths like %s, which rewrite from %q (line %d) matches; rewrites apply once, so it is not rewritten again",
					rws[i].To.S, sample, rws[j].From.S, rws[j].From.P.Line)
				break
			}
		}
	}
}

// sampleResult is a path rr makes, with every capture "x", cleaned as a request path is.
func sampleResult(rr *site.RewriteRule) string {
	p := rr.Sample()
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}
