package schema

import (
	"cmp"
	"path"
	"slices"
	"strings"
)

// inputIndex finds the jobs that looked up a repo path (their inputs), so that a load can
// tell which sites a changed path concerns without visiting every site. A job's own site
// file is left out: a change below sites/ reaches its job through the listing
// (incremental.go). It is a sorted slice, not a map: at 10,000 sites about a quarter of
// a megabyte, kept from load to load.
type inputIndex struct {
	refs []inputRef // by path, then job file
}

// inputRef is one path a job looked up.
type inputRef struct {
	path string
	job  *siteJob
}

func compareRef(r inputRef, path, file string) int {
	return cmp.Or(strings.Compare(r.path, path), strings.Compare(r.job.file, file))
}

// newInputIndex indexes the inputs of jobs.
func newInputIndex(jobs []*siteJob) *inputIndex {
	x := &inputIndex{}
	for _, j := range jobs {
		j.inputs = dedupe(j.inputs)
		for _, p := range j.inputs {
			if p != j.file {
				x.refs = append(x.refs, inputRef{p, j})
			}
		}
	}
	slices.SortFunc(x.refs, func(a, b inputRef) int { return compareRef(a, b.path, b.job.file) })
	return x
}

// dedupe returns ps without repeats, in an array of its length (ps is the job's own, kept
// from load to load).
func dedupe(ps []string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == cap(ps) {
		return ps
	}
	return slices.Clip(out)
}

// add indexes j's inputs.
func (x *inputIndex) add(j *siteJob) {
	j.inputs = dedupe(j.inputs)
	for _, p := range j.inputs {
		if p == j.file {
			continue
		}
		i, _ := slices.BinarySearchFunc(x.refs, p, func(r inputRef, p string) int { return compareRef(r, p, j.file) })
		x.refs = slices.Insert(x.refs, i, inputRef{p, j})
	}
}

// remove forgets j's inputs.
func (x *inputIndex) remove(j *siteJob) {
	for _, p := range j.inputs {
		i, ok := slices.BinarySearchFunc(x.refs, p, func(r inputRef, p string) int { return compareRef(r, p, j.file) })
		if ok && x.refs[i].job == j {
			x.refs = slices.Delete(x.refs, i, i+1)
		}
	}
}

// from returns the index of the first ref whose path is p or sorts after it.
func (x *inputIndex) from(p string) int {
	i, _ := slices.BinarySearchFunc(x.refs, p, func(r inputRef, p string) int { return strings.Compare(r.path, p) })
	return i
}

// used reports whether a job looked up p (its own site file aside).
func (x *inputIndex) used(p string) bool {
	i := x.from(p)
	return i < len(x.refs) && x.refs[i].path == p
}

// affected calls f with every job that looked up changed, a directory holding it, or a
// path below it.
func (x *inputIndex) affected(changed string, f func(*siteJob)) {
	for p := changed; ; p = path.Dir(p) {
		for i := x.from(p); i < len(x.refs) && x.refs[i].path == p; i++ {
			f(x.refs[i].job)
		}
		if !strings.Contains(p, "/") {
			break
		}
	}
	below := changed + "/"
	for i := x.from(below); i < len(x.refs) && strings.HasPrefix(x.refs[i].path, below); i++ {
		f(x.refs[i].job)
	}
}
