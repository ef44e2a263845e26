package gitsource

import (
	"io/fs"
	"strings"
)

// ChangedSince lists what differs between prev, the TreeFS of another revision, and f:
// the paths of the files, links and submodules added, removed or changed, and of the
// directories added, removed or turned into (or from) another kind of entry, in no
// particular order. A directory present in both with different content is not listed
// itself; what changed in it is. Unchanged directories are skipped by their tree hash, so
// a one-file commit costs a walk of the directories on that file's path. It returns false
// when prev is not a *TreeFS. It implements schema.DiffFS.
func (f *TreeFS) ChangedSince(prev fs.FS) ([]string, bool) {
	p, ok := prev.(*TreeFS)
	if !ok || p == nil {
		return nil, false
	}
	var out []string
	diffNodes(p.root, f.root, "", &out)
	return out, true
}

// sameNode reports whether a and b are the same entry: same kind and mode and same object.
func sameNode(a, b *treeNode) bool {
	return a == b || a.mode == b.mode && a.hash == b.hash
}

// diffNodes appends to out what differs between the children of directories a and b (at
// path dir), recursing into directories present in both.
func diffNodes(a, b *treeNode, dir string, out *[]string) {
	i, j := 0, 0
	for i < len(a.children) || j < len(b.children) {
		var c int
		switch {
		case i == len(a.children):
			c = 1
		case j == len(b.children):
			c = -1
		default:
			c = strings.Compare(a.children[i].name, b.children[j].name)
		}
		switch {
		case c < 0:
			*out = append(*out, joinPath(dir, a.children[i].name))
			i++
		case c > 0:
			*out = append(*out, joinPath(dir, b.children[j].name))
			j++
		default:
			x, y := a.children[i], b.children[j]
			if !sameNode(x, y) {
				p := joinPath(dir, x.name)
				if x.mode.IsDir() && y.mode.IsDir() {
					diffNodes(x, y, p, out)
				} else {
					*out = append(*out, p)
				}
			}
			i, j = i+1, j+1
		}
	}
}
