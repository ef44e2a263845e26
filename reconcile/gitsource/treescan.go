package gitsource

import (
	"bytes"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// A TreeFS reads each changed directory's git tree object with scanTree rather than
// go-git's Tree.Decode, which allocates an entry and a name string for every entry: at
// 10,000 sites a one-file commit changes sites/, whose 10,000 entries cost about 2 MB of
// garbage and 1.5 ms of CPU per swap to decode, on the cores that serve, for the one entry
// that changed. scanTree reads the entries in place; fillTree allocates a name only for a
// new or changed entry.

// rawTreeEntry is one entry of a tree object as scanTree reads it. name points into the
// object's content: valid during the callback only, never to be changed.
type rawTreeEntry struct {
	mode filemode.FileMode // canonical, as go-git's Tree.Decode gives it
	name []byte
	hash plumbing.Hash
}

// treeContent returns the content of tree object h in s: our store's object's own bytes
// (never written again: read-only), else a copy read from the object.
func treeContent(s storer.EncodedObjectStorer, h plumbing.Hash) ([]byte, error) {
	o, err := s.EncodedObject(plumbing.TreeObject, h)
	if err != nil {
		return nil, err
	}
	if o.Type() != plumbing.TreeObject {
		return nil, object.ErrUnsupportedObject
	}
	if mo, ok := o.(*memObject); ok && int64(len(mo.cont)) == mo.sz {
		return mo.cont, nil
	}
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, max(o.Size(), 0)))
}

// scanTree calls fn with each entry of tree content b, in order, refusing what go-git's
// Tree.Decode refuses (wrapping object.ErrMalformedTree): a mode without its terminating
// space or not an octal number, a name without its terminating NUL or empty, an object id
// cut short. It stops at fn's first error and returns it.
func scanTree(b []byte, fn func(rawTreeEntry) error) error {
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		if sp < 0 {
			return fmt.Errorf("%w: missing mode terminator", object.ErrMalformedTree)
		}
		mode, ok := parseOctalMode(b[:sp])
		if !ok {
			return fmt.Errorf("%w: malformed mode", object.ErrMalformedTree)
		}
		b = b[sp+1:]
		nul := bytes.IndexByte(b, 0)
		switch {
		case nul < 0:
			return fmt.Errorf("%w: missing filename terminator", object.ErrMalformedTree)
		case nul == 0:
			return fmt.Errorf("%w: empty filename", object.ErrMalformedTree)
		}
		e := rawTreeEntry{mode: canonicalTreeMode(mode), name: b[:nul]}
		b = b[nul+1:]
		if len(b) < len(e.hash) {
			return fmt.Errorf("%w: truncated object id", object.ErrMalformedTree)
		}
		b = b[copy(e.hash[:], b):]
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// parseOctalMode parses a tree entry's mode as strconv.ParseUint(s, 8, 32) does, without
// making a string of it.
func parseOctalMode(s []byte) (filemode.FileMode, bool) {
	if len(s) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, false
		}
		if n = n<<3 | uint64(c-'0'); n > 1<<32-1 {
			return 0, false
		}
	}
	return filemode.FileMode(n), true
}

// canonicalTreeMode is go-git's canonical mode of a tree entry's mode (object.Tree.Decode).
func canonicalTreeMode(mode filemode.FileMode) filemode.FileMode {
	switch mode & 0o170000 {
	case 0o040000:
		return filemode.Dir
	case 0o100000:
		if mode&0o111 != 0 {
			return filemode.Executable
		}
		return filemode.Regular
	case 0o120000:
		return filemode.Symlink
	default:
		return filemode.Submodule
	}
}

// compareName compares b with s as strings.Compare(string(b), s) does, without making a
// string of b.
func compareName(b []byte, s string) int {
	for i := 0; i < len(b) && i < len(s); i++ {
		if b[i] != s[i] {
			if b[i] < s[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(b) < len(s):
		return -1
	case len(b) > len(s):
		return 1
	}
	return 0
}
