package gitsource

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
)

// Appending to the state file. A commit that changes one site of 10,000 brings a handful
// of new objects (the site's file, the trees above it, the commit): rewriting the whole
// file for them (16 MB at 10,000 sites: copied, hashed, written and synced) made every
// accepted commit's cost scale with the repo instead of the change, on the cores that
// serve. A save appends a segment holding only the objects the file lacks instead, as long
// as this process knows what the file holds and the objects no longer needed stay under a
// quarter of those needed (a restart reads them too); past that it rewrites the file whole
// (writeStateFile). An append cut short by a crash leaves a damaged last segment, which the
// next start ignores (it restores the revision before) and the next save replaces with a
// rewrite.

// stateFile is what the state file holds, as far as this process knows: the objects in it
// (a record's length follows from its object's size: stateRecordLen), and its length. objs
// nil: unknown, the next save rewrites the file.
type stateFile struct {
	objs map[plumbing.Hash]struct{}
	size int64
}

// errStateMoved says the state file is not the length this process left it at.
var errStateMoved = errors.New("the state file changed under the source")

// statePlan is what a save writes: the objects to append, or every object (rewrite).
type statePlan struct {
	rewrite bool
	objs    *objectStore // the objects to write (all of them when rewrite)
	hashes  []plumbing.Hash
}

// planSave decides how to save store, the objects of the revision to save, over held:
// append the objects held lacks, or rewrite the file when held is unknown or the file
// would hold more than a quarter again the bytes the revision needs. It looks at the
// objects added to store since the last planSave (store.takeFresh) rather than at all of
// them: at 10,000 sites a pass over the 20,000 objects cost about 3 ms of CPU per swap.
// That is enough because every object of store is in held after a save that succeeds, and
// after one that fails held is unknown (the next save rewrites the file).
func planSave(store *objectStore, held stateFile) statePlan {
	fresh, known := store.takeFresh()
	if held.objs == nil {
		objs, hashes := store.clone()
		return statePlan{rewrite: true, objs: objs, hashes: hashes}
	}
	add := newObjectStore()
	var hashes []plumbing.Hash
	var added, addedRecs int64
	consider := func(h plumbing.Hash, o plumbing.EncodedObject) {
		if _, ok := held.objs[h]; ok {
			return
		}
		if _, ok := add.objects[h]; ok {
			return // listed twice (added, dropped and added again)
		}
		add.objects[h] = o
		hashes = append(hashes, h)
		added += 30 + o.Size() // a record's head is at most 30 bytes
		addedRecs += stateRecordLen(o.Size())
	}
	if known {
		for _, h := range fresh {
			if o, ok := store.objects[h]; ok { // not dropped since
				consider(h, o)
			}
		}
	} else {
		for h, o := range store.objects {
			consider(h, o)
		}
	}
	live := store.recBytes - addedRecs // the record bytes of the objects held has
	if held.size+added-(live+added) > (live+added)/4 {
		objs, hashes := store.clone()
		return statePlan{rewrite: true, objs: objs, hashes: hashes}
	}
	return statePlan{objs: add, hashes: hashes}
}

// appendStateSegment appends a segment of h and the objects of objs named by hashes to
// dir/StateFileName, which must be held.size bytes long, syncs it, and returns what the
// file then holds (held's map, added to).
func appendStateSegment(dir string, held stateFile, h stateHeader, objs *objectStore, hashes []plumbing.Hash) (stateFile, error) {
	var buf bytes.Buffer
	if err := writeStateSegment(&buf, h, objs, hashes); err != nil {
		return stateFile{}, err
	}
	f, err := os.OpenFile(filepath.Join(dir, StateFileName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return stateFile{}, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() != held.size {
		return stateFile{}, errors.Join(errStateMoved, err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return stateFile{}, err
	}
	if err := f.Sync(); err != nil {
		return stateFile{}, err
	}
	for _, k := range hashes {
		held.objs[k] = struct{}{}
	}
	held.size += int64(buf.Len())
	return held, f.Close()
}

// readStateSegments reads the segments of a v2 state file of size bytes, after its first
// line, into a new store: the header of the last whole segment, every object read, and
// what the file holds. The first segment must be whole; a later one that is not (an append
// a crash interrupted, or damage) ends the read with what came before, and the file is
// then held unknown so that the next save rewrites it.
func readStateSegments(r *bufio.Reader, size int64) (h stateHeader, store *objectStore, held stateFile, err error) {
	store = newObjectStore()
	held.objs, held.size = map[plumbing.Hash]struct{}{}, int64(len(stateMagic))
	for n := 0; ; n++ {
		if _, err := r.Peek(1); n > 0 && errors.Is(err, io.EOF) {
			return h, store, held, nil
		}
		sh, len, err := readStateSegment(r, store, size-held.size, held.objs)
		switch {
		case err != nil && n == 0:
			return h, nil, held, err
		case err != nil:
			held.objs = nil
			return h, store, held, nil
		}
		h, held.size = sh, held.size+len
	}
}

// readStateSegment reads one segment into store, adding its objects to held (which may
// then hold some of a segment that fails), and returns its header and length.
func readStateSegment(r *bufio.Reader, store *objectStore, limit int64, held map[plumbing.Hash]struct{}) (h stateHeader, n int64, err error) {
	line, err := readLine(r, maxStateHeader)
	if err != nil {
		return h, 0, fmt.Errorf("header: %w", err)
	}
	if h, err = decodeStateHeader(line); err != nil {
		return h, 0, err
	}
	rn, err := readStateRecords(r, store, limit-int64(len(line))-1, held)
	if err != nil {
		return h, 0, fmt.Errorf("pack: %w", err)
	}
	return h, int64(len(line)) + 1 + rn, nil
}
