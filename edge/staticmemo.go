package edge

import (
	"io/fs"
	"sync"
	"sync/atomic"
)

// metaMemo keeps the prepared fileMeta of the files of an immutable file system (a
// revision's tree, site.Static.FS) by name, up to maxCachedFiles names, so their headers
// are formatted once per revision rather than per request. It keeps no content: the
// tree's files are in memory already.
type metaMemo struct {
	fsys  fs.FS
	metas sync.Map // name -> *fileMeta
	n     atomic.Int64
}

// get returns the fileMeta of the regular file name, open as f and described by info.
func (mm *metaMemo) get(name string, f fs.File, info fs.FileInfo) *fileMeta {
	if v, ok := mm.metas.Load(name); ok {
		return v.(*fileMeta)
	}
	m := newFileMeta(info, etagOf(mm.fsys, name, info), nil, nil)
	if mm.n.Load() >= maxCachedFiles {
		return m // this request's own
	}
	if v, loaded := mm.metas.LoadOrStore(name, m); loaded {
		return v.(*fileMeta)
	}
	mm.n.Add(1)
	return m
}
