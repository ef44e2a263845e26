package edge

import (
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
)

// metaMemo keeps the prepared fileMeta of the files of an immutable file system (a
// revision's tree, site.Static.FS) by name, up to maxCachedFiles names, so their headers
// are formatted once per revision rather than per request.
type metaMemo struct {
	fsys   fs.FS
	metas  sync.Map // name -> *fileMeta
	n      atomic.Int64
	inline inlineBudget
}

// get returns the fileMeta of the regular file name, open as f and described by info.
func (mm *metaMemo) get(name string, f fs.File, info fs.FileInfo) *fileMeta {
	if v, ok := mm.metas.Load(name); ok {
		return v.(*fileMeta)
	}
	ra, _ := f.(io.ReaderAt)
	if mm.n.Load() >= maxCachedFiles {
		return newFileMeta(info, etagOf(mm.fsys, name, info), nil, nil) // this request's own
	}
	m := newFileMeta(info, etagOf(mm.fsys, name, info), ra, &mm.inline)
	if v, loaded := mm.metas.LoadOrStore(name, m); loaded {
		mm.inline.give(m)
		return v.(*fileMeta)
	}
	mm.n.Add(1)
	return m
}
