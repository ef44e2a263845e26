package schema

import (
	"crypto/sha256"
	"io/fs"
)

// HashFS is an fs.FS that can say a file's content hash without reading the file, as a git
// tree knows the hash of each of its blobs (gitsource.TreeFS is one). The Loader remembers
// each file's result by content: given a HashFS it tells unchanged files by their hash and
// reads only the files that changed. Any other fs.FS works too; the Loader then reads every
// file and hashes its content itself.
type HashFS interface {
	fs.FS
	// FileHash returns the hash of the content of the named regular file (a path as Open
	// takes it; a final symbolic link is not followed) and true, or false when the hash is
	// not known. Two files of a HashFS with equal hashes must have equal content; hashes are
	// never compared with those of another kind of file system.
	FileHash(name string) (hash []byte, ok bool)
}

// hashFSID turns a HashFS hash into the loader's content ID, which can never equal the
// SHA-256 of a file's content (the ID the loader uses for other file systems): "hfs", the
// hash's length, then the hash; a hash longer than 28 bytes is replaced by its SHA-256 and
// the length byte is 0xff.
func hashFSID(hash []byte) [32]byte {
	var id [32]byte
	copy(id[:], "hfs")
	if len(hash) <= len(id)-4 {
		id[3] = byte(len(hash))
		copy(id[4:], hash)
		return id
	}
	id[3] = 0xff
	sum := sha256.Sum256(hash)
	copy(id[4:], sum[:])
	return id
}

// SharedFileFS is an fs.FS that can give a file's content without copying it
// (gitsource.TreeFS is one). The Loader keeps the certificate files it reads this way as
// they are, so each is held in memory once. The caller must not modify the result.
type SharedFileFS interface {
	fs.FS
	// ReadFileShared is fs.ReadFile's result, possibly the file system's own copy.
	ReadFileShared(name string) ([]byte, error)
}
