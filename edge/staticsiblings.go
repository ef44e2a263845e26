package edge

import "io/fs"

// The precompressed siblings of a file, remembered with its fileMeta: a request that
// accepts an encoding (every browser's does) looks its siblings up only while it is not
// known whether the file has any. A fileMeta lives as long as the entry it was made for
// (a second for an open-file cache entry, whose missing names are remembered for the same
// second; a revision for an immutable tree), so a sibling deployed later is seen as soon
// as before.
const (
	siblingsUnknown uint32 = iota // not looked up yet
	siblingsNone                  // none of the precompressed names is a regular file
	siblingsSome                  // at least one is
)

// noSiblings reports whether the file name of fsys, whose prepared headers are m (nil:
// none), has none of the precompressed siblings, looking them up the first time it is
// asked. Unknown (m nil) counts as maybe some.
func (m *fileMeta) noSiblings(fsys fs.FS, name string) bool {
	if m == nil {
		return false
	}
	switch m.siblings.Load() {
	case siblingsNone:
		return true
	case siblingsSome:
		return false
	}
	state := siblingsNone
	for _, p := range precompressed {
		f, info, err := openStatic(fsys, name+p.ext)
		if f != nil {
			f.Close()
		}
		if err == nil && !info.IsDir() {
			state = siblingsSome
			break
		}
	}
	m.siblings.Store(state)
	return state == siblingsNone
}

// knownNoSiblings reports whether m is known to have no precompressed sibling, without
// looking them up.
func (m *fileMeta) knownNoSiblings() bool {
	return m.siblings.Load() == siblingsNone
}
