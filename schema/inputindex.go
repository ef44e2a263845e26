package schema

import (
	"path"
	"slices"
	"strings"
)

// inputIndex finds the jobs that looked up a repo path (their inputs), so that a load can
// tell which sites a changed path concerns without visiting every site.
type inputIndex struct {
	by   map[string][]*siteJob // by path looked up
	keys []string              // the paths of by, sorted, for the paths below a directory
}

// newInputIndex indexes the inputs of jobs.
func newInputIndex(jobs []*siteJob) *inputIndex {
	x := &inputIndex{by: make(map[string][]*siteJob, 2*len(jobs))}
	for _, j := range jobs {
		j.inputs = dedupe(j.inputs)
		for _, p := range j.inputs {
			x.by[p] = append(x.by[p], j)
		}
	}
	x.keys = make([]string, 0, len(x.by))
	for p := range x.by {
		x.keys = append(x.keys, p)
	}
	slices.Sort(x.keys)
	return x
}

// dedupe returns ps without repeats, in place (ps is the job's own).
func dedupe(ps []string) []string {
	out := ps[:0]
	for i, p := range ps {
		if !slices.Contains(ps[:i], p) {
			out = append(out, p)
		}
	}
	return out
}

// add indexes j's inputs.
func (x *inputIndex) add(j *siteJob) {
	j.inputs = dedupe(j.inputs)
	for _, p := range j.inputs {
		if _, ok := x.by[p]; !ok {
			i, _ := slices.BinarySearch(x.keys, p)
			x.keys = slices.Insert(x.keys, i, p)
		}
		x.by[p] = append(x.by[p], j)
	}
}

// remove forgets j's inputs.
func (x *inputIndex) remove(j *siteJob) {
	for _, p := range j.inputs {
		js := x.by[p]
		i := slices.Index(js, j)
		if i < 0 {
			continue
		}
		if len(js) == 1 {
			delete(x.by, p)
			if k, ok := slices.BinarySearch(x.keys, p); ok {
				x.keys = slices.Delete(x.keys, k, k+1)
			}
			continue
		}
		x.by[p] = slices.Delete(slices.Clone(js), i, i+1)
	}
}

// used reports whether a job looked up p.
func (x *inputIndex) used(p string) bool { return len(x.by[p]) > 0 }

// affected calls f with every job that looked up changed, a directory holding it, or a
// path below it.
func (x *inputIndex) affected(changed string, f func(*siteJob)) {
	for p := changed; ; p = path.Dir(p) {
		for _, j := range x.by[p] {
			f(j)
		}
		if !strings.Contains(p, "/") {
			break
		}
	}
	below := changed + "/"
	for i, _ := slices.BinarySearch(x.keys, below); i < len(x.keys) && strings.HasPrefix(x.keys[i], below); i++ {
		for _, j := range x.by[x.keys[i]] {
			f(j)
		}
	}
}
