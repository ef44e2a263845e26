package edge

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// openFileCache keeps the files of a dirSource open for a second (as nginx's
// open_file_cache with valid=1s): a request for a file opened within the last second
// reads it through the descriptor already open (pread, so requests share it safely)
// instead of opening, stat'ing and closing it again. Names that do not exist are
// remembered for the same second. So a deploy is seen within a second, as the directory
// itself is (dirRecheck). Directories are never cached. A descriptor replaced is closed by
// the garbage collector once no request reads it any more. Each file's response headers
// are prepared when it is opened, and a small file's content read (fileMeta), so a request
// within the second costs no system call for the file at all. Entries expired for
// cacheSweepEvery are removed (by the next miss), so names no longer asked for do not keep
// their descriptor and content.
type openFileCache struct {
	root      fs.FS
	entries   sync.Map // name -> *cachedEntry
	size      atomic.Int64
	inline    inlineBudget // the content of small files held by entries
	nextSweep atomic.Int64 // unix nanoseconds
}

// cacheSweepEvery is how often, at most, a cache removes its expired entries.
const cacheSweepEvery = 10 * time.Second

// maxCachedFiles bounds the names a cache holds; beyond it files are opened per request.
const maxCachedFiles = 4096

// cachedEntry is one name: an open regular file and its description, or a missing name.
type cachedEntry struct {
	f       *os.File    // nil for a missing name
	info    fs.FileInfo // nil for a missing name
	meta    *fileMeta   // nil for a missing name
	expires int64       // unix nanoseconds
}

// Open opens name: from the cache while fresh, else from the root (and caches it).
func (c *openFileCache) Open(name string) (fs.File, error) {
	now := time.Now().UnixNano()
	if v, ok := c.entries.Load(name); ok {
		if e := v.(*cachedEntry); now < e.expires {
			return e.handle(name)
		}
	}
	c.sweep(now)
	f, err := c.root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			c.store(name, &cachedEntry{expires: now + int64(dirRecheck)})
		}
		return nil, err
	}
	osf, ok := f.(*os.File)
	if !ok {
		return f, nil
	}
	info, err := osf.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return f, nil // a directory, or a file to stat again: served uncached
	}
	e := &cachedEntry{f: osf, info: info, expires: now + int64(dirRecheck)}
	e.meta = newFileMeta(info, etagOf(c, name, info), osf, &c.inline)
	if !c.store(name, e) {
		return f, nil // the cache is full: this request owns the file
	}
	return e.handle(name)
}

// cachedMeta returns the prepared fileMeta of the regular file name while its entry is
// fresh, else nil (not cached, missing, expired, or a directory, never cached).
func (c *openFileCache) cachedMeta(name string) *fileMeta {
	v, ok := c.entries.Load(name)
	if !ok {
		return nil
	}
	if e := v.(*cachedEntry); e.f != nil && time.Now().UnixNano() < e.expires {
		return e.meta
	}
	return nil
}

// store caches e under name unless the cache is full; it reports whether it did.
func (c *openFileCache) store(name string, e *cachedEntry) bool {
	old, loaded := c.entries.Swap(name, e)
	if loaded {
		c.inline.give(old.(*cachedEntry).meta)
		return true
	}
	if c.size.Add(1) > maxCachedFiles {
		if v, ok := c.entries.LoadAndDelete(name); ok { // e, or what replaced it since
			c.inline.give(v.(*cachedEntry).meta)
		}
		c.size.Add(-1)
		return false
	}
	return true
}

// sweep removes the entries expired before now, if the last sweep was cacheSweepEvery ago.
func (c *openFileCache) sweep(now int64) {
	next := c.nextSweep.Load()
	if now < next || !c.nextSweep.CompareAndSwap(next, now+int64(cacheSweepEvery)) {
		return
	}
	c.entries.Range(func(k, v any) bool {
		if e := v.(*cachedEntry); e.expires <= now && c.entries.CompareAndDelete(k, e) {
			c.size.Add(-1)
			c.inline.give(e.meta)
		}
		return true
	})
}

// handle returns a request's own reader of the entry's file.
func (e *cachedEntry) handle(name string) (fs.File, error) {
	if e.f == nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f := &cachedFile{info: e.info, meta: e.meta}
	f.SectionReader = *io.NewSectionReader(e.f, 0, e.info.Size())
	return f, nil
}

// cachedFile is one request's view of a cached file: reads at its own offset.
type cachedFile struct {
	io.SectionReader
	info fs.FileInfo
	meta *fileMeta
}

func (f *cachedFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *cachedFile) Close() error               { return nil }
func (f *cachedFile) fileMeta() *fileMeta        { return f.meta }
