package gitsource

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// rawObject is one entry of a pack crafted by craftPack: any header, any body.
type rawObject struct {
	t    plumbing.ObjectType
	size int64         // declared size; -1: len(data)
	ofs  int64         // OFS delta: the distance back to its base
	ref  plumbing.Hash // REF delta: its base
	data []byte        // deflated into the entry, unless zdata is set
	z    []byte        // the entry's zlib stream as it is
}

// craftPack returns a pack of objs (its header declaring count objects, or len(objs) when
// count is negative) with a correct trailing checksum.
func craftPack(objs []rawObject, count int64) []byte {
	if count < 0 {
		count = int64(len(objs))
	}
	var b bytes.Buffer
	b.WriteString("PACK")
	binary.Write(&b, binary.BigEndian, uint32(2))
	binary.Write(&b, binary.BigEndian, uint32(count))
	for _, o := range objs {
		size := o.size
		if size < 0 {
			size = int64(len(o.data))
		}
		b.Write(entryHeader(o.t, size))
		switch o.t {
		case plumbing.OFSDeltaObject:
			b.Write(ofsEncode(o.ofs))
		case plumbing.REFDeltaObject:
			b.Write(o.ref[:])
		}
		if o.z != nil {
			b.Write(o.z)
		} else {
			b.Write(deflate(o.data))
		}
	}
	return fixChecksum(append(b.Bytes(), make([]byte, 20)...))
}

// fixChecksum rewrites the last 20 bytes of pack to the SHA-1 of the rest.
func fixChecksum(pack []byte) []byte {
	if len(pack) < 20 {
		return pack
	}
	sum := sha1.Sum(pack[:len(pack)-20])
	copy(pack[len(pack)-20:], sum[:])
	return pack
}

// entryHeader encodes a pack entry's type and size.
func entryHeader(t plumbing.ObjectType, size int64) []byte {
	c := byte(t)<<4 | byte(size&0x0f)
	size >>= 4
	var out []byte
	for size > 0 {
		out = append(out, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	return append(out, c)
}

// ofsEncode encodes an OFS delta's distance to its base as git does.
func ofsEncode(n int64) []byte {
	buf := []byte{byte(n & 0x7f)}
	for n >>= 7; n > 0; n >>= 7 {
		n--
		buf = append([]byte{0x80 | byte(n&0x7f)}, buf...)
	}
	return buf
}

// deflate returns data as a zlib stream.
func deflate(data []byte) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// leb128 encodes n as a delta header's size.
func leb128(n uint64) []byte {
	var out []byte
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	return append(out, byte(n))
}

// deltaOf returns a delta against a base of baseSize bytes declaring targetSize bytes,
// followed by ops.
func deltaOf(baseSize, targetSize uint64, ops ...byte) []byte {
	return append(append(leb128(baseSize), leb128(targetSize)...), ops...)
}

// mustT fails t on err.
func mustT(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
