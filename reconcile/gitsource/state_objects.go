package gitsource

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/edgectl/edge/edge/pace"
	"github.com/go-git/go-git/v5/plumbing"
)

// The objects of a v2 state file follow its header line, whole and uncompressed, so that
// saving a revision is a copy of the objects already in memory (no compression: a save at
// 10,000 sites cost about 1.7 s of CPU as a zlib packfile) and reading one back is a copy
// and a hash per object. Each object is a record:
//
//	type (1 byte: 1 commit, 2 tree, 3 blob, 4 tag), hash (20 bytes), size (uvarint), content
//
// then the trailer: a zero byte and the SHA-256 of every record before it. A record whose
// content does not hash to its hash, a file cut short or changed anywhere fails the read.

// stateEndMarker is the type byte that starts the trailer.
const stateEndMarker = 0

// stateRecordLen is the length of the v2 record of an object of size bytes: its type (1),
// hash (20), size (a uvarint) and content.
func stateRecordLen(size int64) int64 {
	var b [binary.MaxVarintLen64]byte
	return 21 + int64(binary.PutUvarint(b[:], uint64(size))) + size
}

// writeStateObjects writes the objects of objs named by hashes as v2 records, then the
// trailer.
func writeStateObjects(w io.Writer, objs *objectStore, hashes []plumbing.Hash) error {
	sum := sha256.New()
	// A rewrite at 10,000 sites hashes and copies 16 MB: in pieces, yielding between them.
	mw := &pace.Writer{W: io.MultiWriter(w, sum)}
	var head [1 + 20 + binary.MaxVarintLen64]byte
	for _, h := range hashes {
		o, err := objs.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return fmt.Errorf("object %s: %w", h, err)
		}
		head[0] = byte(o.Type())
		copy(head[1:21], h[:])
		n := 21 + binary.PutUvarint(head[21:], uint64(o.Size()))
		if _, err := mw.Write(head[:n]); err != nil {
			return err
		}
		if err := writeObjectContent(mw, o); err != nil {
			return fmt.Errorf("object %s: %w", h, err)
		}
	}
	if _, err := w.Write([]byte{stateEndMarker}); err != nil {
		return err
	}
	_, err := w.Write(sum.Sum(nil))
	return err
}

// writeObjectContent writes o's content: in place for a memObject, else through its reader.
func writeObjectContent(w io.Writer, o plumbing.EncodedObject) error {
	if mo, ok := o.(*memObject); ok && int64(len(mo.cont)) == mo.sz {
		_, err := w.Write(mo.cont)
		return err
	}
	r, err := o.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	n, err := io.Copy(w, r)
	if err == nil && n != o.Size() {
		err = fmt.Errorf("read %d bytes of %d", n, o.Size())
	}
	return err
}

// readStateObjects reads v2 records from r into a new store, checking each object's hash
// and the trailer, after which the file must end. limit bounds the bytes left in the file:
// no object claims more.
func readStateObjects(r *bufio.Reader, limit int64) (*objectStore, error) {
	store := newObjectStore()
	if _, err := readStateRecords(r, store, limit, nil); err != nil {
		return nil, err
	}
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the trailer")
	}
	return store, nil
}

// readStateRecords reads v2 records and their trailer from r into store, checking each
// object's hash and the trailer, and returns the bytes read. It adds each record's object
// to held when held is not nil. limit bounds the bytes left in the file.
func readStateRecords(r *bufio.Reader, store *objectStore, limit int64, held map[plumbing.Hash]struct{}) (int64, error) {
	sum := sha256.New()
	var read int64
	for {
		t, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("truncated: %w", noEOF(err))
		}
		if t == stateEndMarker {
			return read + 1 + sha256.Size, checkStateTrailer(r, sum)
		}
		o, n, err := readStateObject(r, plumbing.ObjectType(t), limit-read, sum)
		if err != nil {
			return 0, err
		}
		read += n
		store.put(o)
		if held != nil {
			held[o.h] = struct{}{}
		}
	}
}

// readStateObject reads the rest of one record (its type t read already) into a memObject,
// adding the record's bytes to sum; n is the record's length.
func readStateObject(r *bufio.Reader, t plumbing.ObjectType, limit int64, sum hash.Hash) (o *memObject, n int64, err error) {
	switch t {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
	default:
		return nil, 0, fmt.Errorf("object of unknown type %d", t)
	}
	var h plumbing.Hash
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, 0, fmt.Errorf("truncated: %w", noEOF(err))
	}
	size, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, 0, fmt.Errorf("object %s: size: %w", h, noEOF(err))
	}
	if size > uint64(limit) || size > maxStateFileSize {
		return nil, 0, fmt.Errorf("object %s: size %d beyond the end of the file", h, size)
	}
	o = &memObject{t: t, sz: int64(size), cont: make([]byte, size)}
	if _, err := io.ReadFull(r, o.cont); err != nil {
		return nil, 0, fmt.Errorf("object %s: truncated: %w", h, noEOF(err))
	}
	if got := o.Hash(); got != h {
		return nil, 0, fmt.Errorf("object %s: content hashes to %s", h, got)
	}
	var head [1 + 20 + binary.MaxVarintLen64]byte
	head[0] = byte(t)
	copy(head[1:21], h[:])
	hn := 21 + binary.PutUvarint(head[21:], size)
	sum.Write(head[:hn])
	sum.Write(o.cont)
	return o, int64(hn) + int64(size), nil
}

// checkStateTrailer reads the trailer's SHA-256 and compares it with sum.
func checkStateTrailer(r *bufio.Reader, sum hash.Hash) error {
	var want [sha256.Size]byte
	if _, err := io.ReadFull(r, want[:]); err != nil {
		return fmt.Errorf("trailer: %w", noEOF(err))
	}
	if !bytes.Equal(want[:], sum.Sum(nil)) {
		return errors.New("checksum mismatch")
	}
	return nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: the file ended where more was due.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
