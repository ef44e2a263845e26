package edge

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// staticSource gives a static route's files.
type staticSource interface {
	// files returns the file system to serve the current request from.
	files() fs.FS
}

// fsSource serves an immutable fs.FS: a revision's tree.
type fsSource struct{ fsys fs.FS }

func (s fsSource) files() fs.FS { return s.fsys }

// dirSource serves a directory of the edge server through an os.Root, so no name (with
// "..", or through a symbolic link) reaches outside it. The directory is looked up again
// at most once a second (on a request, never blocking one): when its path names another
// directory than the one open (a deploy switched a "current" link or renamed
// directories), the new one is served.
type dirSource struct {
	dir     string
	mu      sync.Mutex // held, with TryLock, by the one request re-checking dir
	cur     atomic.Pointer[openRoot]
	checked atomic.Int64 // unix nanoseconds of the last check
}

// openRoot is a directory opened, with what identifies it.
type openRoot struct {
	fsys fs.FS
	info fs.FileInfo
}

// dirRecheck is how often a dirSource checks that its path still names the directory open.
const dirRecheck = time.Second

// newDirSource opens dir (absolute). A directory missing now is no error: every request
// is answered 404 until it appears.
func newDirSource(dir string) (*dirSource, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("%s is not an absolute path", dir)
	}
	s := &dirSource{dir: dir}
	s.reopen()
	return s, nil
}

// files returns the directory's files (an empty file system while it does not exist).
func (s *dirSource) files() fs.FS {
	now := time.Now().UnixNano()
	if now-s.checked.Load() > int64(dirRecheck) && s.mu.TryLock() {
		s.reopen()
		s.mu.Unlock()
	}
	if r := s.cur.Load(); r != nil {
		return r.fsys
	}
	return emptyFS{}
}

// reopen opens the directory again when its path now names another one than the one
// open. An old root is closed by the garbage collector once no request uses it.
func (s *dirSource) reopen() {
	s.checked.Store(time.Now().UnixNano())
	info, err := os.Stat(s.dir)
	if err != nil || !info.IsDir() {
		s.cur.Store(nil)
		return
	}
	if cur := s.cur.Load(); cur != nil && os.SameFile(cur.info, info) {
		return
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		s.cur.Store(nil)
		return
	}
	rinfo, err := root.Stat(".")
	if err != nil {
		s.cur.Store(nil)
		return
	}
	s.cur.Store(&openRoot{fsys: &openFileCache{root: root.FS()}, info: rinfo})
}

// emptyFS has no files.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
