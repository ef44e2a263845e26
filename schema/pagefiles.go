package schema

import (
	"crypto/sha256"
	"fmt"
	"path"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// pagesResult is the page files of one site for a load. It is cached while every file's
// content is unchanged, so that an unchanged site keeps its *Site and its Digest, and a
// commit changing only a page changes the site.
type pagesResult struct {
	hash  [32]byte              // over the files' paths and content hashes
	pages map[string]*site.Page // by cleaned repo path
}

// pageCache remembers page files by content hash and each site's pagesResult.
type pageCache struct {
	files map[string]*pageFile    // by repo path
	sets  map[string]*pagesResult // by site file
}

type pageFile struct {
	hash [32]byte
	page *site.Page
}

// files lists the distinct page files d names, each with where it is first written.
func (d *pagesDecl) files() []strPos {
	var out []strPos
	seen := map[string]bool{}
	add := func(p strPos) {
		if p.S != "" && !seen[p.S] {
			seen[p.S] = true
			out = append(out, p)
		}
	}
	for _, r := range d.Pages {
		add(r.File)
	}
	if d.Maint != nil {
		add(d.Maint.Page)
	}
	return out
}

// pageCacheLocked returns l's page cache, made on first use. l.cmu must be held.
func (l *Loader) pageCacheLocked() *pageCache {
	if l.pages == nil {
		l.pages = &pageCache{files: map[string]*pageFile{}, sets: map[string]*pagesResult{}}
	}
	return l.pages
}

// loadPages reads the page files of j's evaluated site (or reuses them while unchanged),
// setting j.pages, or adding a diagnostic at the page's field for each file that cannot
// be used.
func (l *Loader) loadPages(r *repoReader, j *siteJob) {
	refs := j.res.decl.Pages.files()
	if len(refs) == 0 {
		return
	}
	var ds []Diagnostic
	bad := func(ref strPos, msg string) {
		ds = append(ds, Diagnostic{File: j.file, Line: ref.P.Line, Col: ref.P.Col, Severity: SeverityError,
			Message: fmt.Sprintf("page file %s %s", ref.S, msg)})
	}
	refsOf := make([]*fileRef, len(refs))
	h := sha256.New()
	for i, ref := range refs {
		f, err := r.stat(ref.S)
		var id [32]byte
		if err == nil {
			id, err = f.id()
		}
		if err != nil {
			bad(ref, fileMsg(err))
			continue
		}
		refsOf[i] = f
		h.Write([]byte(ref.S))
		h.Write([]byte{0})
		h.Write(id[:])
	}
	res := &pagesResult{pages: make(map[string]*site.Page, len(refs))}
	copy(res.hash[:], h.Sum(nil))
	l.cmu.Lock()
	c := l.pageCacheLocked()
	prev := c.sets[j.file]
	l.cmu.Unlock()
	if len(ds) == 0 && prev != nil && prev.hash == res.hash {
		j.pages = prev
		return
	}
	for i, ref := range refs {
		if f := refsOf[i]; f != nil {
			if pg, msg := l.readPage(c, ref.S, f); pg != nil {
				res.pages[ref.S] = pg
			} else {
				bad(ref, msg)
			}
		}
	}
	if len(ds) > 0 {
		j.ds = append(append([]Diagnostic(nil), j.ds...), ds...)
		return
	}
	l.cmu.Lock()
	c.sets[j.file] = res
	l.cmu.Unlock()
	j.pages = res
}

// readPage returns the page of file name (f), from c while its content is unchanged, or
// nil and what is wrong with it.
func (l *Loader) readPage(c *pageCache, name string, f *fileRef) (*site.Page, string) {
	id, err := f.id()
	if err != nil {
		return nil, fileMsg(err)
	}
	l.cmu.Lock()
	pf := c.files[name]
	l.cmu.Unlock()
	if pf != nil && pf.hash == id {
		return pf.page, ""
	}
	b, err := f.read()
	if err != nil {
		return nil, fileMsg(err)
	}
	if len(b) > site.MaxPageSize {
		return nil, fmt.Sprintf("is %d bytes; an error page may have at most %d (64 KiB)", len(b), site.MaxPageSize)
	}
	pf = &pageFile{hash: id, page: &site.Page{File: name, ContentType: pageTypes[strings.ToLower(path.Ext(name))], Body: b}}
	l.cmu.Lock()
	c.files[name] = pf
	l.cmu.Unlock()
	return pf.page, ""
}

// fileMsg is what a file error says about the file, without its name.
func fileMsg(err error) string {
	if fe, ok := err.(*fileError); ok {
		return fe.msg
	}
	return err.Error()
}

// evictPages forgets the pages of site files gone from the repo and page files no site
// names any more.
func (l *Loader) evictPages(sites map[string]bool) {
	if l.pages == nil {
		return
	}
	used := map[string]bool{}
	for k, set := range l.pages.sets {
		if !sites[k] {
			delete(l.pages.sets, k)
			continue
		}
		for p := range set.pages {
			used[p] = true
		}
	}
	for p := range l.pages.files {
		if !used[p] {
			delete(l.pages.files, p)
		}
	}
}
