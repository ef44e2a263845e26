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
// each object is inflated once, into a slice of its size (see exactWriter), stored as a memObject and hashed
// once, and a delta is resolved as soon as it is read when its base is known (always so
// for offset deltas, which refer back in the pack) rather than at the pack's end.
// (go-git's parser grows a MemoryObject by appends, hashes each object twice and holds
// every delta until the end; its store copies each object again.) A reference delta whose
// base is neither in s nor earlier in the pack waits for the pack's end; if its base is
// still missing then (a thin pack against an object s lacks), the error wraps
// packfile.ErrReferenceDeltaNotFound. A pack that ends early, or an object that does not
// inflate to the size its header says, fails with packfile.ErrMalformedPackFile.
//
// The pack is hostile until read: it may not make storePack hold more than max bytes (see
// Options.MaxPackBytes) counting the pack as received, each object's size and each delta's
// result (checked against the size their headers say, before allocating for them), and
// packObjectOverhead per object. Past it the error wraps ErrPackTooLarge. The work done is
// in proportion to the bytes counted.
func storePack(s *objectStore, r io.Reader, max int64) error {
	sc := packfile.NewScanner(&limitedPack{r: r, left: max, max: max})
	_, count, err := sc.Header()
	if err != nil {
		return wrapPackEOF(err)
	}
	p := &packStorer{s: s, sc: sc, budget: packBudget{max: max, left: max},
		byOffset: make(map[int64]*memObject, min(count, 1<<16)), waiting: map[plumbing.Hash][]waitingDelta{}}
	for range count {
		if err := p.next(); err != nil {
			return err
		}
	}
	if _, err := sc.Checksum(); err != nil && err != io.EOF {
		return wrapPackEOF(err)
	}
	return p.resolveWaiting()
}

// packStorer is storePack's state.
type packStorer struct {
	s        *objectStore
	sc       *packfile.Scanner
	budget   packBudget
	byOffset map[int64]*memObject             // objects read, bases of offset deltas
	waiting  map[plumbing.Hash][]waitingDelta // reference deltas whose base had not come, by base
	buf      bytes.Buffer                     // a delta's data
}

// waitingDelta is a reference delta read before its base.
type waitingDelta struct {
	offset int64
	delta  []byte
}

// next reads and stores the next object of the pack.
func (p *packStorer) next() error {
	oh, err := p.sc.NextObjectHeader()
	if err != nil {
		return wrapPackEOF(err)
	}
	if err := p.budget.take(packObjectOverhead+oh.Length, "an object", oh.Offset); err != nil {
		return err
	}
	if !oh.Type.IsDelta() {
		w := newExactWriter(oh.Length)
		if err := p.inflate(oh, w); err != nil {
			return err
		}
		o := &memObject{t: oh.Type, sz: oh.Length, cont: w.b}
		o.h = plumbing.ComputeHash(o.t, o.cont)
		return p.store(oh.Offset, o)
	}
	p.buf.Reset()
	if err := p.inflate(oh, &p.buf); err != nil {
		return err
	}
	var base *memObject
	if oh.Type == plumbing.OFSDeltaObject {
		if base = p.byOffset[oh.OffsetReference]; base == nil {
			return fmt.Errorf("%w: delta at %d refers to no object at %d", packfile.ErrMalformedPackFile, oh.Offset, oh.OffsetReference)
		}
	} else if base = storedBase(p.s, oh.Reference); base == nil {
		p.waiting[oh.Reference] = append(p.waiting[oh.Reference], waitingDelta{offset: oh.Offset, delta: bytes.Clone(p.buf.Bytes())})
		return nil
	}
	o, err := p.patch(base, p.buf.Bytes(), oh.Offset)
	if err != nil {
		return err
	}
	return p.store(oh.Offset, o)
}

// inflate writes the content of the object oh into w, which must fail past oh.Length bytes.
func (p *packStorer) inflate(oh *packfile.ObjectHeader, w io.Writer) error {
	n, _, err := p.sc.NextObject(w)
	switch {
	case errors.Is(err, errInflatedPastHeader):
		return fmt.Errorf("%w: object at %d inflates past the %d bytes its header says", packfile.ErrMalformedPackFile, oh.Offset, oh.Length)
	case err != nil:
		return wrapPackEOF(err)
	case n != oh.Length:
		// go-git's parser refuses such an object as its hash differs (not such a delta:
		// git refuses both).
		return fmt.Errorf("%w: object at %d inflates to %d bytes, not the %d its header says", packfile.ErrMalformedPackFile, oh.Offset, n, oh.Length)
	}
	return nil
}

// store adds o, read at offset off, to the store.
func (p *packStorer) store(off int64, o *memObject) error {
	if _, err := p.s.SetEncodedObject(o); err != nil {
		return err
	}
	p.byOffset[off] = o
	return nil
}

// patch returns the object the delta at offset off makes of base, once its size is
// counted.
func (p *packStorer) patch(base *memObject, delta []byte, off int64) (*memObject, error) {
	// -1: the delta's header is cut short, and PatchDelta makes nothing of it or fails.
	if err := p.budget.take(max(deltaTargetSize(delta), 0), "a delta's result", off); err != nil {
		return nil, err
	}
	cont, err := packfile.PatchDelta(base.cont, delta)
	if err != nil {
		return nil, fmt.Errorf("resolving a delta against %s: %w", base.h, err)
	}
	o := &memObject{t: base.t, sz: int64(len(cont)), cont: cont}
	o.h = plumbing.ComputeHash(o.t, o.cont)
	return o, nil
}

// resolveWaiting resolves the reference deltas whose base came later in the pack (or is a
// delta resolved since): those on each base held, then those on what they made.
func (p *packStorer) resolveWaiting() error {
	var ready []plumbing.Hash
	for h := range p.waiting {
		if p.s.HasEncodedObject(h) == nil {
			ready = append(ready, h)
		}
	}
	for len(ready) > 0 {
		h := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		ws := p.waiting[h]
		delete(p.waiting, h)
		base := storedBase(p.s, h)
		if base == nil {
			return fmt.Errorf("%w: %s", packfile.ErrReferenceDeltaNotFound, h)
		}
		for _, w := range ws {
			o, err := p.patch(base, w.delta, w.offset)
			if err != nil {
				return err
			}
			if err := p.store(w.offset, o); err != nil {
				return err
			}
			if _, ok := p.waiting[o.h]; ok {
				ready = append(ready, o.h)
			}
		}
	}
	for h := range p.waiting { // the first one
		return fmt.Errorf("%w: %s", packfile.ErrReferenceDeltaNotFound, h)
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

// wrapPackEOF marks a pack that ended early, or whose object inflates to more than its
// header says, as malformed.
func wrapPackEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, packfile.ErrInflatedSizeMismatch) {
		return fmt.Errorf("%w: %w", packfile.ErrMalformedPackFile, err)
	}
	return err
}
