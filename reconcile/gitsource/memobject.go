package gitsource

import (
	"bytes"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
)

// memObject is an object of the in-memory store: go-git's plumbing.MemoryObject, except that
// this package can read its content in place. Once stored it is never written again, so a
// TreeFS shares its content rather than copy it, and hands it out unchanged to readers that
// promise not to modify it (ReadFileShared).
type memObject struct {
	t    plumbing.ObjectType
	h    plumbing.Hash
	cont []byte
	sz   int64
}

var _ plumbing.EncodedObject = (*memObject)(nil)

// Hash returns the object's hash, computed the first time once the content is complete.
func (o *memObject) Hash() plumbing.Hash {
	if o.h == plumbing.ZeroHash && int64(len(o.cont)) == o.sz {
		o.h = plumbing.ComputeHash(o.t, o.cont)
	}
	return o.h
}

func (o *memObject) Type() plumbing.ObjectType     { return o.t }
func (o *memObject) SetType(t plumbing.ObjectType) { o.t = t }
func (o *memObject) Size() int64                   { return o.sz }
func (o *memObject) SetSize(s int64)               { o.sz = s }

// Reader returns a seekable reader of the content.
func (o *memObject) Reader() (io.ReadCloser, error) {
	return nopCloser{bytes.NewReader(o.cont)}, nil
}

// Writer returns the object itself: writes append to the content.
func (o *memObject) Writer() (io.WriteCloser, error) { return o, nil }

// Write appends p to the content, the first time with room for the size set, so the
// content takes no more memory than it needs.
func (o *memObject) Write(p []byte) (int, error) {
	if o.cont == nil && o.sz >= int64(len(p)) && o.sz <= MaxRevisionFileSize {
		o.cont = make([]byte, 0, o.sz)
	}
	o.cont = append(o.cont, p...)
	o.sz = int64(len(o.cont))
	return len(p), nil
}

// Close does nothing.
func (o *memObject) Close() error { return nil }

// nopCloser is a bytes.Reader (seekable, ReaderAt) whose Close does nothing.
type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// toMemObject returns o as a memObject: o itself, or a copy of an object of another kind
// (go-git's packfile parser stores some as plumbing.MemoryObject), so the store holds one
// kind. An object larger than MaxRevisionFileSize, whose content no TreeFS reads, or one
// that cannot be read, is returned as it is.
func toMemObject(o plumbing.EncodedObject) plumbing.EncodedObject {
	if _, ok := o.(*memObject); ok || o.Size() > MaxRevisionFileSize || o.Size() < 0 {
		return o
	}
	r, err := o.Reader()
	if err != nil {
		return o
	}
	defer r.Close()
	mo := &memObject{t: o.Type(), h: o.Hash(), sz: o.Size(), cont: make([]byte, o.Size())}
	if _, err := io.ReadFull(r, mo.cont); err != nil {
		return o
	}
	return mo
}
