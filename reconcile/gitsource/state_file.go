package gitsource

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// StateFileName is the file, in a Source's state directory, holding the revision the
// agent last accepted.
//
// Its format: the line "edge-accepted-revision v2", one line of JSON (stateHeader: the
// source it came from, the reference, its hash, the commit, when it was saved), then the
// git objects of the commit, its annotated tags if the reference named one, and its whole
// tree, whole and uncompressed, each with its hash (see state_objects.go), and a SHA-256 of
// them: the config repo's files only, never a private key read from Vault or a key
// directory. Every object is checked against its hash, so a damaged file fails to load
// rather than yield other files. A file of version 1 (a git packfile after the header, as
// written before) is still read.
const StateFileName = "accepted-revision"

// stateMagic is the first line of a state file; stateMagicV1 that of a file written by an
// earlier version (a packfile follows the header).
const (
	stateMagic   = "edge-accepted-revision v2\n"
	stateMagicV1 = "edge-accepted-revision v1\n"
)

// maxStateFileSize bounds the state file read back: a config repo is text, far below it.
const maxStateFileSize = 1 << 30

// maxStateHeader bounds the JSON header line.
const maxStateHeader = 64 << 10

// stateHeader is the JSON line of a state file.
type stateHeader struct {
	// Source is the Source it was saved by (Source.String: URL without credentials,
	// ref, subdir). A file saved for another source is not loaded.
	Source string `json:"source"`
	// Ref is the full name of the remote reference followed.
	Ref string `json:"ref"`
	// Hash is what Ref named: the commit, or an annotated tag pointing at it.
	Hash string `json:"hash"`
	// Commit is the accepted commit.
	Commit  string    `json:"commit"`
	SavedAt time.Time `json:"savedAt"`
}

// writeStateFile writes h and the objects of objs named by hashes to dir/StateFileName
// atomically: a temporary file in dir (mode 0600), flushed to disk, then renamed over the
// previous one, and the directory synced. A crash at any point leaves the previous file or
// the new one, whole. It creates dir (mode 0700) if needed and returns the file's size.
func writeStateFile(dir string, h stateHeader, objs *objectStore, hashes []plumbing.Hash) (size int64, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(dir, "."+StateFileName+"-*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	hdr, err := json.Marshal(h)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(tmp, 256<<10)
	w.WriteString(stateMagic)
	w.Write(hdr)
	w.WriteByte('\n')
	if err := writeStateObjects(w, objs, hashes); err != nil {
		return 0, fmt.Errorf("write objects: %w", err)
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	st, err := tmp.Stat()
	if err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	final := filepath.Join(dir, StateFileName)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return 0, err
	}
	if d, err := os.Open(dir); err == nil { // make the rename itself durable
		d.Sync()
		d.Close()
	}
	return st.Size(), nil
}

// readStateFile reads dir/StateFileName: its header and its objects, in a new in-memory
// store. A missing file returns an error wrapping fs.ErrNotExist. Whatever the file holds,
// it returns an error rather than panic (an object's size is bounded by the file's; the git
// packfile parser of a version 1 file is trusted to bound its allocations, and a panic in
// it is recovered).
func readStateFile(dir string) (h stateHeader, store *objectStore, err error) {
	f, err := os.Open(filepath.Join(dir, StateFileName))
	if err != nil {
		return h, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return h, nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > maxStateFileSize {
		return h, nil, fmt.Errorf("%s: not a regular file under %d bytes", f.Name(), maxStateFileSize)
	}
	r := bufio.NewReaderSize(io.LimitReader(f, maxStateFileSize), 256<<10)
	magic := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != stateMagic && string(magic) != stateMagicV1 {
		return h, nil, fmt.Errorf("%s: not an edge state file (%q)", f.Name(), strings.TrimSpace(string(magic)))
	}
	line, err := readLine(r, maxStateHeader)
	if err != nil {
		return h, nil, fmt.Errorf("%s: header: %w", f.Name(), err)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return h, nil, fmt.Errorf("%s: header: %w", f.Name(), err)
	}
	if string(magic) == stateMagicV1 {
		store, err = readStatePack(r)
	} else {
		store, err = readStateObjects(r, st.Size())
	}
	if err != nil {
		return h, nil, fmt.Errorf("%s: pack: %w", f.Name(), err)
	}
	return h, store, nil
}

// readStatePack reads the packfile of a version 1 state file into a new store.
func readStatePack(r *bufio.Reader) (store *objectStore, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	store = newObjectStore()
	if err := packfile.UpdateObjectStorage(store, r); err != nil {
		return nil, err
	}
	return store, nil
}

// readLine reads one line of at most max bytes, without its newline.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > max {
			return nil, fmt.Errorf("longer than %d bytes", max)
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
		default:
			return nil, err
		}
	}
}

// removeStateTemps removes temporary files a crash left in dir while writing the state.
func removeStateTemps(dir string) {
	tmps, _ := filepath.Glob(filepath.Join(dir, "."+StateFileName+"-*"))
	for _, t := range tmps {
		os.Remove(t)
	}
}
