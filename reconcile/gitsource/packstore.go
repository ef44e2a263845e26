package gitsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// storePack reads the pack r into s, as packfile.UpdateObjectStorage does, for less work:
// each object is inflated into a buffer once, stored as a memObject holding an exact copy
// and hashed once, and a delta is resolved as soon as it is read when its base is known
// (always so for offset deltas, which refer back in the pack) rather than at the pack's
// end. (go-git's parser grows a MemoryObject by appends, hashes each object twice and
// holds every delta until the end; its store copies each object again.) A reference delta
// whose base is neither in s nor earlier in the pack waits for the pack's end; if its base
// is still missing then (a thin pack against an object s lacks), the error wraps
// packfile.ErrReferenceDeltaNotFound. A pack that ends early, or an object that does not
// inflate to the size its header says, fails with packfile.ErrMalformedPackFile.
func storePack(s *objectStore, r io.Reader) error {
	sc := packfile.NewScanner(r)
	_, count, err := sc.Header()
	if err != nil {
		return wrapPackEOF(err)
	}
	byOffset := make(map[int64]*memObject, min(count, 1<<20))
	var waiting []waitingDelta // reference deltas whose base had not come
	var buf bytes.Buffer
	for range count {
		oh, err := sc.NextObjectHeader()
		if err != nil {
			return wrapPackEOF(err)
		}
		buf.Reset()
		if n, _, err := sc.NextObject(&buf); err != nil {
			return wrapPackEOF(err)
		} else if n != oh.Length {
			// go-git's parser refuses such an object as its hash differs (not such a
			// delta: git refuses both).
			return fmt.Errorf("%w: object at %d inflates to %d bytes, not the %d its header says", packfile.ErrMalformedPackFile, oh.Offset, n, oh.Length)
		}
		var o *memObject
		switch oh.Type {
		case plumbing.OFSDeltaObject:
			base := byOffset[oh.OffsetReference]
			if base == nil {
				return fmt.Errorf("%w: delta at %d refers to no object at %d", packfile.ErrMalformedPackFile, oh.Offset, oh.OffsetReference)
			}
			if o, err = patchObject(base, buf.Bytes()); err != nil {
				return err
			}
		case plumbing.REFDeltaObject:
			base := storedBase(s, oh.Reference)
			if base == nil {
				waiting = append(waiting, waitingDelta{offset: oh.Offset, base: oh.Reference, delta: bytes.Clone(buf.Bytes())})
				continue
			}
			if o, err = patchObject(base, buf.Bytes()); err != nil {
				return err
			}
		default:
			o = &memObject{t: oh.Type, sz: int64(buf.Len()), cont: bytes.Clone(buf.Bytes())}
			o.h = plumbing.ComputeHash(o.t, o.cont)
		}
		if _, err := s.SetEncodedObject(o); err != nil {
			return err
		}
		byOffset[oh.Offset] = o
	}
	if _, err := sc.Checksum(); err != nil && err != io.EOF {
		return wrapPackEOF(err)
	}
	return resolveWaiting(s, byOffset, waiting)
}

// waitingDelta is a reference delta read before its base.
type waitingDelta struct {
	offset int64
	base   plumbing.Hash
	delta  []byte
}

// resolveWaiting resolves the reference deltas whose base came later in the pack (or is a
// delta resolved since), until none is left or none can be.
func resolveWaiting(s *objectStore, byOffset map[int64]*memObject, waiting []waitingDelta) error {
	for len(waiting) > 0 {
		var left []waitingDelta
		for _, w := range waiting {
			base := storedBase(s, w.base)
			if base == nil {
				left = append(left, w)
				continue
			}
			o, err := patchObject(base, w.delta)
			if err != nil {
				return err
			}
			if _, err := s.SetEncodedObject(o); err != nil {
				return err
			}
			byOffset[w.offset] = o
		}
		if len(left) == len(waiting) {
			return fmt.Errorf("%w: %s", packfile.ErrReferenceDeltaNotFound, left[0].base)
		}
		waiting = left
	}
	return nil
}

// storedBase returns the object of s with hash h as a memObject holding its content; nil
// if s has no such object or its content cannot be read.
func storedBase(s *objectStore, h plumbing.Hash) *memObject {
	o, ok := s.objects[h]
	if !ok {
		return nil
	}
	if m, ok := o.(*memObject); ok && int64(len(m.cont)) == m.sz {
		return m
	}
	r, err := o.Reader()
	if err != nil {
		return nil
	}
	defer r.Close()
	cont, err := io.ReadAll(r)
	if err != nil {
		return nil
	}
	return &memObject{t: o.Type(), h: h, sz: int64(len(cont)), cont: cont}
}

// patchObject returns the object the delta makes of base.
func patchObject(base *memObject, delta []byte) (*memObject, error) {
	cont, err := packfile.PatchDelta(base.cont, delta)
	if err != nil {
		return nil, fmt.Errorf("resolving a delta against %s: %w", base.h, err)
	}
	o := &memObject{t: base.t, sz: int64(len(cont)), cont: cont}
	o.h = plumbing.ComputeHash(o.t, o.cont)
	return o, nil
}

// wrapPackEOF marks a pack that ended early, or whose object inflates to more than its
// header says, as malformed.
func wrapPackEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, packfile.ErrInflatedSizeMismatch) {
		return fmt.Errorf("%w: %w", packfile.ErrMalformedPackFile, err)
	}
	return err
}
