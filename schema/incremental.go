package schema

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"time"
)

// lastLoad is a load kept as the start of the next one: when the next revision is a DiffFS
// that can say what changed since this one, only the sites whose inputs changed are loaded
// again, and the checks across files look again only at the sites sharing a name with them
// (crossIndex). Everything else is this load's result as it was.
type lastLoad struct {
	fsys    fs.FS
	repo    *repoResult
	now     time.Time               // the time certificates were judged at
	horizon time.Time               // the first time after now a judgement changes; zero: never
	jobs    []*siteJob              // by file
	entries map[string][]Diagnostic // the other entries of sites/ with diagnostics, by name
	inputs  *inputIndex             // the jobs by the paths they looked up
	cross   *crossIndex             // the checks across files
	sites   []*Site                 // the sites built, by name
}

// horizonOf returns the earliest time a job's expiry judgement changes; zero: never.
func horizonOf(jobs []*siteJob) time.Time {
	var h time.Time
	for _, j := range jobs {
		h = earlier(h, j.next)
	}
	return h
}

// earlier returns the earlier of a and b, a zero time meaning never.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// sitesIsDir reports whether sites/ is a directory itself (not a link to one), so that its
// entries change only through paths below it.
func sitesIsDir(r *repoReader) bool {
	info, err := lstat(r.fsys, SitesDir)
	return err == nil && info.IsDir()
}

// testHookIncremental is called when a load starts from the last one.
var testHookIncremental func()

// incLoad is one incremental load under way.
type incLoad struct {
	prev    *lastLoad
	now     time.Time
	dirty   map[*siteJob]bool       // jobs of prev to replace or drop
	entries map[string][]Diagnostic // entries of sites/ looked at again: their diagnostics
	fresh   []*siteJob              // the jobs to load, by file
}

// loadIncremental loads r's revision starting from the last load, if it can: the last load
// is kept, r's file system is a DiffFS comparable with the last one, edge.cue and the
// expiry judgements are unchanged, and sites/ is still a directory. Its result is what a
// full load of the revision returns. ok is false when a full load must be done instead.
func (l *Loader) loadIncremental(ctx context.Context, r *repoReader, repo *repoResult, ds []Diagnostic, evals evalService) (cfg *Config, err error, ok bool) {
	inc, ok := l.planIncremental(r, repo)
	if !ok {
		return nil, nil, false
	}
	if h := testHookIncremental; h != nil {
		h()
	}
	if l.disk != nil {
		l.disk.load()
	}
	l.evalSites(ctx, r, repo, inc.fresh, evals)
	evals.close() // every callback has run
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", errLoadCancelled, err), true // the last load stays the start
	}
	cfg, err = l.assembleIncremental(r, repo, inc, ds)
	l.loaded = l.loaded || err == nil
	return cfg, err, true
}

// planIncremental finds the jobs of the last load that r's changes concern and the entries
// of sites/ to look at again, and makes the jobs to load.
func (l *Loader) planIncremental(r *repoReader, repo *repoResult) (*incLoad, bool) {
	prev := l.last
	if prev == nil || prev.repo != repo || !sitesIsDir(r) {
		return nil, false
	}
	dfs, ok := r.fsys.(DiffFS)
	if !ok {
		return nil, false
	}
	changed, ok := dfs.ChangedSince(prev.fsys)
	now := l.opts.Now()
	if !ok || now.Before(prev.now) || !prev.horizon.IsZero() && !now.Before(prev.horizon) {
		return nil, false
	}
	inc := &incLoad{prev: prev, now: now, dirty: map[*siteJob]bool{}, entries: map[string][]Diagnostic{}}
	mark := func(j *siteJob) { inc.dirty[j] = true }
	for _, c := range changed {
		if c == SitesDir || c == "." || c == "" {
			return nil, false
		}
		if rest, ok := strings.CutPrefix(c, SitesDir+"/"); ok {
			e, _, _ := strings.Cut(rest, "/")
			inc.entries[e] = nil
		}
		prev.inputs.affected(c, mark)
	}
	for _, j := range prev.jobs {
		if j.volatile {
			mark(j)
		}
	}
	return inc, inc.makeJobs(r)
}

// makeJobs looks at the changed entries of sites/ again and makes a fresh job for each site
// file among them and for each other dirty job still listed.
func (inc *incLoad) makeJobs(r *repoReader) bool {
	fresh := map[string]*siteJob{}
	for e := range inc.entries {
		file := SitesDir + "/" + e
		if old := inc.prev.job(file); old != nil {
			inc.dirty[old] = true
		}
		info, err := lstat(r.fsys, file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false // a full load reports it
		}
		j, eds := classifySiteEntry(fs.FileInfoToDirEntry(info))
		inc.entries[e] = eds
		if j != nil {
			fresh[j.file] = j
		}
	}
	for old := range inc.dirty {
		if _, seen := inc.entries[strings.TrimPrefix(old.file, SitesDir+"/")]; !seen {
			fresh[old.file] = &siteJob{name: old.name, file: old.file}
		}
	}
	for _, j := range fresh {
		inc.fresh = append(inc.fresh, j)
	}
	sort.Slice(inc.fresh, func(a, b int) bool { return inc.fresh[a].file < inc.fresh[b].file })
	return true
}

// job returns the job of file, or nil.
func (p *lastLoad) job(file string) *siteJob { return jobOf(p.jobs, file) }

// jobOf returns the job of file among jobs (by file), or nil.
func jobOf(jobs []*siteJob, file string) *siteJob {
	i, ok := slices.BinarySearchFunc(jobs, file, func(j *siteJob, f string) int { return strings.Compare(j.file, f) })
	if !ok {
		return nil
	}
	return jobs[i]
}

// mergeJobs returns the jobs of the load: the last load's that are not dirty and the fresh
// ones, by file.
func (inc *incLoad) mergeJobs() []*siteJob {
	out := make([]*siteJob, 0, len(inc.prev.jobs)+len(inc.fresh))
	f := inc.fresh
	for _, j := range inc.prev.jobs {
		for len(f) > 0 && f[0].file < j.file {
			out, f = append(out, f[0]), f[1:]
		}
		if !inc.dirty[j] {
			out = append(out, j)
		}
	}
	return append(out, f...)
}

// assembleIncremental builds the fresh jobs' sites, updates the last load's indexes with
// them, and returns what assemble returns for the whole revision. The last load becomes this
// one.
func (l *Loader) assembleIncremental(r *repoReader, repo *repoResult, inc *incLoad, ds []Diagnostic) (*Config, error) {
	prev := inc.prev
	l.urls = urlCache{}
	defer func() { l.urls = nil }()
	warn, errw := l.windows(repo)
	cfg := &Config{Defaults: repo.defaults(warn, errw), Issuers: repo.issuerConfigs()}
	jobs := inc.mergeJobs()
	replaced := make([]*siteJob, 0, len(inc.dirty))
	for j := range inc.dirty {
		replaced = append(replaced, j)
	}
	l.saveDiskChanged(&diskWrite{jobs: jobs, fresh: inc.fresh, gone: replaced, incremental: true})
	next := &lastLoad{fsys: r.fsys, repo: repo, now: inc.now, horizon: prev.horizon, jobs: jobs,
		entries: prev.entries, inputs: prev.inputs, cross: prev.cross}
	var oldDecls, newDecls []*siteDecl
	var gone, added []*Site
	for _, old := range replaced {
		next.inputs.remove(old)
		if old.decl != nil {
			oldDecls = append(oldDecls, old.decl)
		}
		if old.out != nil {
			gone = append(gone, old.out.site)
		}
	}
	for _, j := range inc.fresh {
		l.assembleJob(r, repo, j, inc.now, warn, errw)
		next.inputs.add(j)
		next.horizon = earlier(next.horizon, j.next)
		if j.decl != nil {
			newDecls = append(newDecls, j.decl)
		}
		if j.out != nil {
			added = append(added, j.out.site)
		}
	}
	next.cross.update(oldDecls, newDecls)
	l.evictDirty(inc, jobs)
	next.entries = patchEntries(prev.entries, inc.entries)
	next.sites = patchSites(prev.sites, gone, added)
	l.last = next
	ds = append(ds, entryDiags(next.entries)...)
	for _, j := range jobs {
		ds = append(ds, j.all...)
	}
	ds = append(ds, next.cross.all(jobs)...)
	return finishConfig(cfg, next.sites, ds)
}

// evictDirty forgets the cached results of the dirty jobs' files that no job of the load
// looks up any more.
func (l *Loader) evictDirty(inc *incLoad, jobs []*siteJob) {
	x := inc.prev.inputs // updated
	for old := range inc.dirty {
		if j := jobOf(jobs, old.file); j == nil {
			delete(l.sites, old.file)
			delete(l.built, old.file)
			if l.pages != nil {
				delete(l.pages.sets, old.file)
			}
		}
		if old.decl == nil {
			continue
		}
		if old.cert != nil && !x.used(old.decl.Cert.S) {
			delete(l.certs, old.decl.Cert.S)
		}
		if old.ca != nil && !x.used(old.decl.ClientAuth.CA.S) {
			delete(l.certs, caCacheKey(old.decl.ClientAuth.CA.S))
		}
		if old.pages != nil && l.pages != nil {
			for p := range old.pages.pages {
				if !x.used(p) {
					delete(l.pages.files, p)
				}
			}
		}
	}
}

// patchEntries updates entries (the last load's, which it replaces) with the diagnostics of
// the entries looked at again.
func patchEntries(entries, again map[string][]Diagnostic) map[string][]Diagnostic {
	for e, ds := range again {
		if len(ds) == 0 {
			delete(entries, e)
		} else {
			entries[e] = ds
		}
	}
	return entries
}

// entryDiags returns the diagnostics of entries, by entry name.
func entryDiags(entries map[string][]Diagnostic) []Diagnostic {
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	slices.Sort(names)
	var ds []Diagnostic
	for _, n := range names {
		ds = append(ds, entries[n]...)
	}
	return ds
}

// patchSites returns a copy of sites (by name) without gone and with added.
func patchSites(sites, gone, added []*Site) []*Site {
	out := slices.Clone(sites)
	byName := func(s *Site, name string) int { return strings.Compare(s.Name, name) }
	for _, s := range gone {
		if i, ok := slices.BinarySearchFunc(out, s.Name, byName); ok && out[i] == s {
			out = slices.Delete(out, i, i+1)
		}
	}
	for _, s := range added {
		i, _ := slices.BinarySearchFunc(out, s.Name, byName)
		out = slices.Insert(out, i, s)
	}
	return out
}
