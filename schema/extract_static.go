package schema

import (
	"path"
	"strings"
)

// staticDecl is a static route's declaration: one source of files and how they are
// served.
type staticDecl struct {
	P       pos            `json:",omitzero"` // the static field
	RepoDir strPos         `json:",omitzero"` // a directory of the config repo; S empty when not this source
	Dir     strPos         `json:",omitzero"` // an absolute directory of the edge server
	Git     *staticGitDecl `json:",omitzero"`
	Index   []string       `json:",omitzero"`
	SPA     bool           `json:",omitzero"`
	Browse  bool           `json:",omitzero"`
	Precomp bool           `json:",omitzero"`
}

// staticGitDecl is a content repository pinned by commit.
type staticGitDecl struct {
	URL    strPos `json:",omitzero"`
	Commit strPos `json:",omitzero"`
	Path   string `json:",omitzero"`
}

// proxyOnlyFields are the route fields a static route may not set.
var proxyOnlyFields = []string{"upstreams", "balance", "strip_prefix", "timeouts", "retries", "health_check"}

// static reads the static part of the route at at (written as raw) into r, refusing a
// route with both files and upstreams (or other proxy options) and a static part with
// no or several sources.
func (x *extractor) static(v val, at fieldPath, raw string, r *routeDecl) {
	sv := lookup(v, "static")
	if !sv.Exists() {
		return
	}
	sat := at.field("static")
	for _, f := range proxyOnlyFields {
		if _, written := x.idx[at.field(f).key()]; written {
			x.errorf(at.field(f), "route %q is static (line %d): it serves files and has no %s; remove %s or static", raw, x.pos(sat).Line, f, f)
		}
	}
	d := &staticDecl{P: x.pos(sat), Index: strList(sv, "index")}
	d.SPA, _ = boolean(sv, "spa")
	d.Browse, _ = boolean(sv, "browse")
	d.Precomp, _ = boolean(sv, "precompressed")
	var sources []string
	if s, ok := str(sv, "repo_dir"); ok {
		d.RepoDir = strPos{strings.TrimSuffix(s, "/"), x.pos(sat.field("repo_dir"))}
		x.checkRepoDir(sat.field("repo_dir"), d.RepoDir.S)
		sources = append(sources, "repo_dir")
	}
	if s, ok := str(sv, "dir"); ok {
		d.Dir = strPos{s, x.pos(sat.field("dir"))}
		switch {
		case !x.plain(sat.field("dir"), "static dir", s):
		case s == "/" || path.Clean(s) == "/":
			x.errorf(sat.field("dir"), "static dir %q is the server's root directory; serve a directory of its own such as \"/var/www/example\"", s)
		case path.Clean(s) != s:
			x.errorf(sat.field("dir"), "static dir %q is not a clean absolute path; write it as %q", s, path.Clean(s))
		}
		sources = append(sources, "dir")
	}
	if gv := lookup(sv, "git"); gv.Exists() {
		d.Git = x.staticGit(gv, sat.field("git"))
		sources = append(sources, "git")
	}
	switch {
	case len(sources) == 0:
		x.errorf(sat, "route %q: static needs a source of files: repo_dir (a directory of this repo), dir (a directory of the server) or git (a content repository)", raw)
	case len(sources) > 1:
		x.errorf(sat, "route %q: static needs exactly one source of files; it has %s", raw, strings.Join(sources, " and "))
	}
	for i, n := range d.Index {
		if !x.plain(sat.field("index").index(i), "index file", n) {
			continue
		}
		if n == "" || n == "." || n == ".." || strings.HasPrefix(n, ".") || strings.Contains(n, "\\") || len(n) > 255 {
			x.errorf(sat.field("index").index(i), "index file %q is not a visible file name such as \"index.html\"", n)
		}
	}
	r.Static = d
}

// checkRepoDir refuses a repo_dir that is the repo's root or holds its declarations: the
// configuration is not content.
func (x *extractor) checkRepoDir(at fieldPath, dir string) {
	if !x.plain(at, "repo_dir", dir) {
		return
	}
	clean := path.Clean(dir)
	switch {
	case clean == "." || dir == "":
		x.errorf(at, "repo_dir %q is the repo's root, which holds the configuration; serve a directory of it such as \"www/example\"", dir)
	case clean == SitesDir || strings.HasPrefix(clean, SitesDir+"/"):
		x.errorf(at, "repo_dir %q is inside sites/, which holds the declarations; serve a directory of its own such as \"www/example\"", dir)
	case clean != dir:
		x.errorf(at, "repo_dir %q is not a clean path; write it as %q", dir, clean)
	case hasHiddenSegment(clean):
		x.errorf(at, "repo_dir %q has a hidden segment (beginning with \".\"), which is never served", dir)
	}
}

// staticGit reads a content repository's pin.
func (x *extractor) staticGit(gv val, at fieldPath) *staticGitDecl {
	g := &staticGitDecl{}
	if s, ok := str(gv, "url"); ok {
		g.URL = strPos{s, x.pos(at.field("url"))}
		x.plain(at.field("url"), "git url", s)
	}
	if s, ok := str(gv, "commit"); ok {
		g.Commit = strPos{s, x.pos(at.field("commit"))}
	}
	if s, ok := str(gv, "path"); ok {
		g.Path = strings.TrimSuffix(s, "/")
		if x.plain(at.field("path"), "git path", s) && (path.Clean(g.Path) != g.Path || hasHiddenSegment(g.Path)) {
			x.errorf(at.field("path"), "git path %q is not a clean path without hidden segments; write e.g. \"public\"", s)
		}
	}
	return g
}

// hasHiddenSegment reports whether a segment of the slash-separated p begins with ".".
func hasHiddenSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}
