package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/edgectl/edge/edge/pace"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// MaxRevisionFileSize is the largest file a TreeFS holds the content of: 8 MiB. A larger
// file is listed and stat'ed with its real size, but opening it fails (wrapping
// ErrFileTooLarge). Config repos hold small text files; this bounds memory if one does not.
const MaxRevisionFileSize = 8 << 20

// ErrSymlink is returned (wrapped in an *fs.PathError) when a path through a symbolic link
// is opened or read: a TreeFS never follows links. Use fs.ReadLink to read the target.
var ErrSymlink = errors.New("reconcile: symbolic link not followed")

// ErrFileTooLarge is returned (wrapped in an *fs.PathError) when a file larger than
// MaxRevisionFileSize is opened.
var ErrFileTooLarge = errors.New("reconcile: file too large to read from a revision")

// TreeFS is a read-only fs.FS over a git tree, fully in memory once built, so it is
// immutable and safe for concurrent use. (Files of an in-memory git store, as a Source
// keeps, are read from their objects on open instead of being copied.) It implements
// fs.ReadDirFS, fs.ReadFileFS, fs.StatFS, fs.SubFS and fs.ReadLinkFS, and schema.HashFS
// (FileHash).
//
// Symbolic links are reported with fs.ModeSymlink and never followed: Open, ReadFile and
// ReadDir of a path that is or goes through a link fail with ErrSymlink; Stat and Lstat
// both describe the link itself; ReadLink returns its target as stored. Submodules (gitlinks)
// are reported with fs.ModeIrregular and cannot be opened. Every file's ModTime is the
// commit time; FileHash and FileInfo.Sys() (a plumbing.Hash) give the git object hash of
// the blob (or tree, for Sys), so equal hashes mean equal content.
type TreeFS struct {
	root  *treeNode
	mtime time.Time // every file's ModTime: the commit time
}

var (
	_ fs.ReadDirFS  = (*TreeFS)(nil)
	_ fs.ReadFileFS = (*TreeFS)(nil)
	_ fs.StatFS     = (*TreeFS)(nil)
	_ fs.SubFS      = (*TreeFS)(nil)
	_ fs.ReadLinkFS = (*TreeFS)(nil)
)

// treeNode is one entry of the tree.
type treeNode struct {
	name     string
	mode     fs.FileMode
	hash     plumbing.Hash
	size     int64
	data     []byte                 // file content (nil if larger than MaxRevisionFileSize) or link target
	blob     *plumbing.MemoryObject // instead of data: the file's object in an in-memory store
	children []*treeNode            // sorted by name; directories only
	below    int                    // the entries below a directory, at any depth (treeWalk)
}

// newTreeFS reads tree t and every blob below it from s. When prev (which may be nil) is
// the TreeFS of an earlier revision, its files and directories that did not change (same
// name, mode and object hash) are shared rather than read again: nodes never change once
// built, so one revision's change costs reading what changed, not the whole tree.
//
// The tree is hostile until read: past MaxRevisionEntries entries, MaxTreeDepth
// directories deep or a path of MaxPathLen bytes it fails with an error wrapping
// ErrTreeTooLarge, and an entry named ".git", "." or "..", or with a "/", fails it too
// (treelimits.go); each error names the path.
func newTreeFS(ctx context.Context, s storer.EncodedObjectStorer, t plumbing.Hash, mtime time.Time, prev *TreeFS) (*TreeFS, error) {
	root := &treeNode{name: ".", mode: fs.ModeDir | 0o755, hash: t}
	var prevRoot *treeNode
	if prev != nil {
		prevRoot = prev.root
	}
	w := &treeWalk{ctx: ctx, s: s, left: MaxRevisionEntries}
	if err := w.fillTree(root, "", 0, prevRoot); err != nil {
		return nil, err
	}
	return &TreeFS{root: root, mtime: mtime}, nil
}

// fillTree adds the entries of directory n's tree (n.hash, at path dir) to n, recursively,
// sharing the unchanged ones of prev (the same directory in an earlier revision, or nil). An
// unchanged entry costs a comparison, no allocation (scanTree reads the tree in place): at
// 10,000 sites a one-file commit shares 9,999 of sites/, whose names were checked when they
// were first read.
//
// depth is dir's: 0 for the root. The entries n holds at any depth are counted against the
// walk's budget as they are read (shared ones too, by their count).
func (w *treeWalk) fillTree(n *treeNode, dir string, depth int, prev *treeNode) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	b, err := treeContent(w.s, n.hash)
	if err != nil {
		return fmt.Errorf("%s: read tree %s: %w", treePath(dir), n.hash, err)
	}
	if err := w.room(b, dir); err != nil {
		return err
	}
	start := w.left
	if prev != nil {
		n.children = make([]*treeNode, 0, len(prev.children)+1)
	}
	cur := childCursor{n: prev}
	var childErr error // an entry's own error, already naming its path
	var tick pace.Ticker
	err = scanTree(b, func(e rawTreeEntry) error {
		tick.Tick()
		old := cur.next(e.name)
		if mode, ok := entryMode(e.mode); ok && old != nil && old.hash == e.hash && old.mode == mode {
			if !w.take(1 + old.below) {
				childErr = tooMany(joinPath(dir, string(e.name)))
				return childErr
			}
			n.children = append(n.children, old)
			return nil
		}
		if !w.take(1) {
			childErr = tooMany(joinPath(dir, string(e.name)))
			return childErr
		}
		c, err := w.newTreeNode(object.TreeEntry{Name: string(e.name), Mode: e.mode, Hash: e.hash}, dir, depth, old)
		if err != nil {
			childErr = err
			return err
		}
		n.children = append(n.children, c)
		return nil
	})
	switch {
	case childErr != nil:
		return childErr
	case err != nil:
		return fmt.Errorf("%s: read tree %s: %w", treePath(dir), n.hash, err)
	}
	n.below = start - w.left
	// Git orders a directory "a" as "a/", so "a.txt" sorts before it; fs wants plain names.
	slices.SortFunc(n.children, func(a, b *treeNode) int { return strings.Compare(a.name, b.name) })
	return nil
}

// treePath names directory dir in errors: "." for the root.
func treePath(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// newTreeNode reads tree entry e (in directory dir) into a new node: a directory's entries
// recursively (sharing those of old, the entry of the same name in an earlier revision,
// if it was a directory), a file's content.
func (w *treeWalk) newTreeNode(e object.TreeEntry, dir string, depth int, old *treeNode) (*treeNode, error) {
	p := joinPath(dir, e.Name)
	if err := checkEntryName(p, e.Name); err != nil {
		return nil, err
	}
	mode, ok := entryMode(e.Mode)
	if !ok {
		return nil, fmt.Errorf("%s: unsupported file mode %v", p, e.Mode)
	}
	c := &treeNode{name: e.Name, hash: e.Hash, mode: mode}
	switch {
	case c.mode.IsDir():
		if old != nil && !old.mode.IsDir() {
			old = nil
		}
		if done := w.shared(e.Hash); done != nil {
			// The same tree met again in this revision (a hostile tree can nest one tree
			// under itself thousands of times): its entries are shared, counted again.
			if !w.take(done.below) {
				return nil, tooMany(p)
			}
			c.children, c.below = done.children, done.below
			return c, nil
		}
		if depth+1 > MaxTreeDepth {
			return nil, fmt.Errorf("%w: %s: directories nested more than %d deep (MaxTreeDepth)", ErrTreeTooLarge, clipPath(p), MaxTreeDepth)
		}
		if err := w.fillTree(c, p, depth+1, old); err != nil {
			return nil, err
		}
		w.remember(c)
	case c.mode&fs.ModeIrregular == 0:
		if err := readBlob(w.s, c, p); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// entryMode is the fs mode of a tree entry's git mode; ok is false for a mode not supported.
func entryMode(m filemode.FileMode) (mode fs.FileMode, ok bool) {
	switch m {
	case filemode.Dir:
		return fs.ModeDir | 0o755, true
	case filemode.Regular, filemode.Deprecated:
		return 0o644, true
	case filemode.Executable:
		return 0o755, true
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777, true
	case filemode.Submodule:
		return fs.ModeIrregular | 0o644, true
	}
	return 0, false
}

// childCursor finds the children of a directory by name when asked in about their order (a
// tree's entries against the same directory's children in an earlier revision): one
// comparison each instead of a binary search.
type childCursor struct {
	n *treeNode
	i int // where the last name asked was found, plus one
}

// next returns the child named name, or nil (also when the directory is nil).
func (c *childCursor) next(name []byte) *treeNode {
	if c.n == nil {
		return nil
	}
	if c.i < len(c.n.children) && c.n.children[c.i].name == string(name) {
		c.i++
		return c.n.children[c.i-1]
	}
	i, ok := slices.BinarySearchFunc(c.n.children, name, func(x *treeNode, b []byte) int { return -compareName(b, x.name) })
	if !ok {
		return nil
	}
	c.i = i + 1
	return c.n.children[i]
}

// child returns n's child named name, or nil (also when n is nil).
func (n *treeNode) child(name string) *treeNode {
	if n == nil {
		return nil
	}
	i, ok := slices.BinarySearchFunc(n.children, name, func(c *treeNode, s string) int { return strings.Compare(c.name, s) })
	if !ok {
		return nil
	}
	return n.children[i]
}

// readBlob loads the blob of file or link n (at path p).
func readBlob(s storer.EncodedObjectStorer, n *treeNode, p string) error {
	o, err := s.EncodedObject(plumbing.BlobObject, n.hash)
	if err != nil {
		return fmt.Errorf("%s: read blob %s: %w", p, n.hash, err)
	}
	n.size = o.Size()
	if n.size > MaxRevisionFileSize {
		if n.mode&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: symbolic link target of %d bytes", p, n.size)
		}
		return nil
	}
	if mo, ok := o.(*memObject); ok && n.mode&fs.ModeSymlink == 0 && int64(len(mo.cont)) == n.size {
		// Our store's object: its content is complete and never written again; share it.
		if n.data = mo.cont; n.data == nil {
			n.data = []byte{}
		}
		return nil
	}
	if mo, ok := o.(*plumbing.MemoryObject); ok && n.mode&fs.ModeSymlink == 0 {
		// The object already holds the content in memory and is never written again: read
		// it on open rather than keep a second copy of every file of the repo.
		n.blob = mo
		return nil
	}
	r, err := o.Reader()
	if err != nil {
		return fmt.Errorf("%s: read blob %s: %w", p, n.hash, err)
	}
	defer r.Close()
	n.data = make([]byte, n.size)
	if _, err := io.ReadFull(r, n.data); err != nil {
		return fmt.Errorf("%s: read blob %s: %w", p, n.hash, err)
	}
	return nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// lookup finds name without following links. A link met before the last element fails
// with ErrSymlink.
func (f *TreeFS) lookup(op, name string) (*treeNode, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n := f.root
	if name == "." {
		return n, nil
	}
	rest := name
	for rest != "" {
		elem, tail, _ := strings.Cut(rest, "/")
		rest = tail
		if !n.mode.IsDir() {
			if n.mode&fs.ModeSymlink != 0 {
				return nil, &fs.PathError{Op: op, Path: name, Err: ErrSymlink}
			}
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		if n = n.child(elem); n == nil {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
	}
	return n, nil
}

// openable finds name for reading its content: links and submodules are refused.
func (f *TreeFS) openable(op, name string) (*treeNode, error) {
	n, err := f.lookup(op, name)
	if err != nil {
		return nil, err
	}
	switch {
	case n.mode&fs.ModeSymlink != 0:
		return nil, &fs.PathError{Op: op, Path: name, Err: ErrSymlink}
	case n.mode&fs.ModeIrregular != 0:
		return nil, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("reconcile: %s is a git submodule, which a revision does not contain", name)}
	case !n.mode.IsDir() && n.data == nil && n.blob == nil && n.size > 0:
		return nil, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%w (%d bytes, limit %d)", ErrFileTooLarge, n.size, MaxRevisionFileSize)}
	}
	return n, nil
}

// Open opens the named file or directory. See TreeFS for links.
func (f *TreeFS) Open(name string) (fs.File, error) {
	n, err := f.openable("open", name)
	if err != nil {
		return nil, err
	}
	if n.mode.IsDir() {
		return &treeDir{info: f.info(n), path: name}, nil
	}
	r, err := n.reader()
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &treeFile{info: f.info(n), contentReader: r}, nil
}

// contentReader reads an open file: a *bytes.Reader, or an in-memory git object's reader.
type contentReader interface {
	io.Reader
	io.Seeker
	io.ReaderAt
}

// reader returns a reader over the content of file n.
func (n *treeNode) reader() (contentReader, error) {
	if n.blob == nil {
		return bytes.NewReader(n.data), nil
	}
	rc, err := n.blob.Reader()
	if err != nil {
		return nil, err
	}
	if r, ok := rc.(contentReader); ok {
		return r, nil
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return bytes.NewReader(b), err
}

// ReadFile returns the content of the named file. The caller may modify the result.
func (f *TreeFS) ReadFile(name string) ([]byte, error) {
	n, err := f.openable("read", name)
	if err != nil {
		return nil, err
	}
	if n.mode.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	if n.blob == nil {
		return bytes.Clone(n.data), nil
	}
	r, err := n.reader()
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	b := make([]byte, n.size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return b, nil
}

// ReadFileShared is ReadFile without the copy: the result may be the revision's own copy
// of the content, which the caller must not modify. The schema loader reads certificate
// files this way so that each is held in memory once, by the revision, not twice.
func (f *TreeFS) ReadFileShared(name string) ([]byte, error) {
	n, err := f.openable("read", name)
	if err != nil {
		return nil, err
	}
	if n.blob == nil && !n.mode.IsDir() {
		return n.data[:len(n.data):len(n.data)], nil
	}
	return f.ReadFile(name)
}

// ReadDir lists the named directory, sorted by name.
func (f *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := f.openable("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.mode.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return f.entries(n.children), nil
}

// Stat describes the named file without following a final link (like Lstat).
func (f *TreeFS) Stat(name string) (fs.FileInfo, error) {
	n, err := f.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return f.info(n), nil
}

// Lstat describes the named file without following a final link.
func (f *TreeFS) Lstat(name string) (fs.FileInfo, error) {
	n, err := f.lookup("lstat", name)
	if err != nil {
		return nil, err
	}
	return f.info(n), nil
}

// FileHash returns the git object hash of the named regular file's blob, which changes
// whenever the file's content does (it implements schema.HashFS, so the loader need not
// read a file that did not change). A final symbolic link is not followed; for anything
// but a regular file it returns false.
func (f *TreeFS) FileHash(name string) ([]byte, bool) {
	n, err := f.lookup("hash", name)
	if err != nil || !n.mode.IsRegular() || n.hash.IsZero() {
		return nil, false
	}
	return bytes.Clone(n.hash[:]), true
}

// ReadLink returns the target of the named symbolic link, as stored (unchecked).
func (f *TreeFS) ReadLink(name string) (string, error) {
	n, err := f.lookup("readlink", name)
	if err != nil {
		return "", err
	}
	if n.mode&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return string(n.data), nil
}

// Sub returns the TreeFS rooted at directory dir.
func (f *TreeFS) Sub(dir string) (fs.FS, error) {
	n, err := f.openable("sub", dir)
	if err != nil {
		return nil, err
	}
	if !n.mode.IsDir() {
		return nil, &fs.PathError{Op: "sub", Path: dir, Err: errors.New("not a directory")}
	}
	return &TreeFS{root: n, mtime: f.mtime}, nil
}

func (f *TreeFS) info(n *treeNode) treeInfo { return treeInfo{n, f.mtime} }

func (f *TreeFS) entries(children []*treeNode) []fs.DirEntry {
	out := make([]fs.DirEntry, len(children))
	for i, c := range children {
		out[i] = treeInfo{c, f.mtime}
	}
	return out
}

// treeInfo is both the fs.FileInfo and the fs.DirEntry of a node.
type treeInfo struct {
	n   *treeNode
	mod time.Time
}

func (i treeInfo) Name() string               { return i.n.name }
func (i treeInfo) Size() int64                { return i.n.size }
func (i treeInfo) Mode() fs.FileMode          { return i.n.mode }
func (i treeInfo) Type() fs.FileMode          { return i.n.mode.Type() }
func (i treeInfo) ModTime() time.Time         { return i.mod }
func (i treeInfo) IsDir() bool                { return i.n.mode.IsDir() }
func (i treeInfo) Sys() any                   { return i.n.hash }
func (i treeInfo) Info() (fs.FileInfo, error) { return i, nil }
func (i treeInfo) String() string             { return fs.FormatDirEntry(i) }

// treeFile is an open regular file.
type treeFile struct {
	info treeInfo
	contentReader
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *treeFile) Close() error               { return nil }

// treeDir is an open directory.
type treeDir struct {
	info treeInfo
	path string
	off  int
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Close() error               { return nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: errors.New("is a directory")}
}

// ReadDir implements fs.ReadDirFile.
func (d *treeDir) ReadDir(count int) ([]fs.DirEntry, error) {
	all := d.info.n.children[d.off:]
	if count > 0 && len(all) > count {
		all = all[:count]
	}
	if count > 0 && len(all) == 0 {
		return nil, io.EOF
	}
	d.off += len(all)
	out := make([]fs.DirEntry, len(all))
	for i, c := range all {
		out[i] = treeInfo{c, d.info.mod}
	}
	return out, nil
}
