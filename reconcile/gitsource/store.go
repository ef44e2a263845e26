package gitsource

import (
	"errors"

	"github.com/edgectl/edge/edge/pace"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/memory"
)

// objectStore is the in-memory object database a Source keeps between polls: go-git's
// storer interfaces over one map of objects, and the shallow list. It is ours, rather than
// go-git's memory.Storage, so that compact can drop the objects a revision no longer needs
// through a method of its own (memory.Storage has no public way to delete an object).
// Like memory.Storage it is not safe for concurrent use; the Source guards it.
type objectStore struct {
	// ReferenceStorage makes it a storer.Storer, as packfile.UpdateObjectStorage wants; a
	// Source keeps no references in it.
	memory.ReferenceStorage
	objects map[plumbing.Hash]plumbing.EncodedObject
	shallow []plumbing.Hash

	// For planSave, so that a save costs what the revision added, not a pass over every
	// object: the state-file record bytes of every object held (stateRecordLen), and the
	// objects SetEncodedObject added since the last takeFresh (a hash may repeat; a
	// dropped one may be listed), unless freshLost (the list outgrew its bound: scan all).
	recBytes  int64
	fresh     []plumbing.Hash
	freshLost bool
}

var (
	_ storer.Storer        = (*objectStore)(nil)
	_ storer.ShallowStorer = (*objectStore)(nil)
)

// errUnsupportedObject is returned when a pack holds an object of a type git stores no
// more (a delta is resolved before it is stored).
var errUnsupportedObject = errors.New("unsupported object type")

func newObjectStore() *objectStore {
	return &objectStore{ReferenceStorage: memory.ReferenceStorage{}, objects: map[plumbing.Hash]plumbing.EncodedObject{}}
}

// NewEncodedObject implements storer.EncodedObjectStorer.
func (s *objectStore) NewEncodedObject() plumbing.EncodedObject { return &memObject{} }

// SetEncodedObject implements storer.EncodedObjectStorer.
func (s *objectStore) SetEncodedObject(o plumbing.EncodedObject) (plumbing.Hash, error) {
	h := o.Hash()
	switch o.Type() {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
	default:
		return h, errUnsupportedObject
	}
	if _, had := s.objects[h]; !had {
		s.recBytes += stateRecordLen(o.Size())
		s.noteFresh(h)
	}
	s.objects[h] = toMemObject(o)
	return h, nil
}

// noteFresh lists h as added since the last takeFresh. Without saves (no state dir) the
// list would grow with every poll: past twice the objects held it is dropped, and the next
// planSave scans every object.
func (s *objectStore) noteFresh(h plumbing.Hash) {
	if s.freshLost {
		return
	}
	if len(s.fresh) > 2*len(s.objects)+1024 {
		s.fresh, s.freshLost = nil, true
		return
	}
	s.fresh = append(s.fresh, h)
}

// put adds o, known by its hash, as read from a state file (not fresh: the file has it).
func (s *objectStore) put(o *memObject) {
	if _, had := s.objects[o.h]; !had {
		s.recBytes += stateRecordLen(o.sz)
	}
	s.objects[o.h] = o
}

// takeFresh returns the objects added since the last takeFresh (ok false: not known, look
// at every object) and starts a new list.
func (s *objectStore) takeFresh() (hashes []plumbing.Hash, ok bool) {
	hashes, ok = s.fresh, !s.freshLost
	s.fresh, s.freshLost = nil, false
	return hashes, ok
}

// EncodedObject implements storer.EncodedObjectStorer.
func (s *objectStore) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	o, ok := s.objects[h]
	if !ok || t != plumbing.AnyObject && o.Type() != t {
		return nil, plumbing.ErrObjectNotFound
	}
	return o, nil
}

// IterEncodedObjects implements storer.EncodedObjectStorer.
func (s *objectStore) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	var objs []plumbing.EncodedObject
	for _, o := range s.objects {
		if t == plumbing.AnyObject || o.Type() == t {
			objs = append(objs, o)
		}
	}
	return storer.NewEncodedObjectSliceIter(objs), nil
}

// HasEncodedObject implements storer.EncodedObjectStorer.
func (s *objectStore) HasEncodedObject(h plumbing.Hash) error {
	if _, ok := s.objects[h]; !ok {
		return plumbing.ErrObjectNotFound
	}
	return nil
}

// EncodedObjectSize implements storer.EncodedObjectStorer.
func (s *objectStore) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	o, ok := s.objects[h]
	if !ok {
		return 0, plumbing.ErrObjectNotFound
	}
	return o.Size(), nil
}

// AddAlternate implements storer.EncodedObjectStorer: alternates are not supported.
func (s *objectStore) AddAlternate(string) error { return errors.New("alternates are not supported") }

// SetShallow implements storer.ShallowStorer.
func (s *objectStore) SetShallow(commits []plumbing.Hash) error {
	s.shallow = commits
	return nil
}

// Shallow implements storer.ShallowStorer.
func (s *objectStore) Shallow() ([]plumbing.Hash, error) { return s.shallow, nil }

// keepOnly drops every object whose hash is not in live.
func (s *objectStore) keepOnly(live map[plumbing.Hash]struct{}) {
	var tick pace.Ticker
	for h, o := range s.objects {
		tick.Tick()
		if _, ok := live[h]; !ok {
			s.recBytes -= stateRecordLen(o.Size())
			delete(s.objects, h)
		}
	}
}

// len is the number of objects held.
func (s *objectStore) len() int { return len(s.objects) }

// clone returns a store holding the same objects (shared: objects never change once
// stored), and their hashes.
func (s *objectStore) clone() (*objectStore, []plumbing.Hash) {
	c := newObjectStore()
	c.recBytes = s.recBytes
	hashes := make([]plumbing.Hash, 0, len(s.objects))
	var tick pace.Ticker
	for h, o := range s.objects {
		tick.Tick()
		c.objects[h] = o
		hashes = append(hashes, h)
	}
	return c, hashes
}
