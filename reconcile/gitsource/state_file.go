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

	"github.com/edgectl/edge/edge/pace"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// StateFileName is the file, in a Source's state directory, holding the revision the
// agent last accepted.
//
// Its format: the line "edge-accepted-revision v2", then one or more segments. A segment is
// one line of JSON (stateHeader: the source it came from, the reference, its hash, the
// commit, when it was saved), then git objects, whole and uncompressed, each with its hash
// (see state_objects.go), and a SHA-256 of them: the config repo's files only, never a
// private key read from Vault or a key directory. The first segment holds the objects of
// its commit: the commit, its annotated tags if the reference named one, and its whole
// tree; each later one, appended when a new revision was accepted (state_append.go), the
// objects of its commit that the segments before it do not hold. The last segment's header
// names the revision. Every object is checked against its hash, so a damaged file fails to
// load rather than yield other files; a later segment cut short or damaged (an append a
// crash interrupted) is ignored, leaving the revision of the segments before it. A file of
// version 1 (a git packfile after the header, as written before) is still read.
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

// A rewrite at 10,000 sites writes 16 MB after a swap, every 8-10 swaps: 20-30 ms of CPU
// (hashing, copying, the write calls) that in one burst took a core from the serving
// goroutines and the rest of the machine for that long. It is written at a lower duty
// instead: a pause of stateRewriteRest after each stateRewriteChunk bytes written (64
// pauses at 10,000 sites, about 70 ms more). Serving does not wait for the save; the next
// poll waits that much longer at most.
const (
	stateRewriteChunk = 256 << 10
	stateRewriteRest  = time.Millisecond
)

// writeStateFile writes h and the objects of objs named by hashes to dir/StateFileName
// atomically, as a file of one segment: a temporary file in dir (mode 0600), flushed to
// disk, then renamed over the previous one, and the directory synced. A crash at any point
// leaves the previous file or the new one, whole. It creates dir (mode 0700) if needed and
// returns what the file holds.
func writeStateFile(dir string, h stateHeader, objs *objectStore, hashes []plumbing.Hash) (held stateFile, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return held, err
	}
	tmp, err := os.CreateTemp(dir, "."+StateFileName+"-*")
	if err != nil {
		return held, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(&pace.Writer{W: tmp, Chunk: stateRewriteChunk, Rest: stateRewriteRest}, stateRewriteChunk)
	w.WriteString(stateMagic)
	if err := writeStateSegment(w, h, objs, hashes); err != nil {
		return held, err
	}
	if err := w.Flush(); err != nil {
		return held, err
	}
	if err := tmp.Sync(); err != nil {
		return held, err
	}
	st, err := tmp.Stat()
	if err != nil {
		return held, err
	}
	if err := tmp.Close(); err != nil {
		return held, err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, StateFileName)); err != nil {
		return held, err
	}
	if d, err := os.Open(dir); err == nil { // make the rename itself durable
		d.Sync()
		d.Close()
	}
	objSet := make(map[plumbing.Hash]struct{}, len(hashes))
	for _, k := range hashes {
		objSet[k] = struct{}{}
	}
	return stateFile{objs: objSet, size: st.Size()}, nil
}

// writeStateSegment writes one segment of a state file: h as a JSON line, then the records
// of the objects of objs named by hashes and the trailer.
func writeStateSegment(w io.Writer, h stateHeader, objs *objectStore, hashes []plumbing.Hash) error {
	hdr, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(append(hdr, '\n')); err != nil {
		return err
	}
	if err := writeStateObjects(w, objs, hashes); err != nil {
		return fmt.Errorf("write objects: %w", err)
	}
	return nil
}

// readStateFile reads dir/StateFileName: the header of its last whole segment and the
// objects of its segments, in a new in-memory store (see readStateFileHeld).
func readStateFile(dir string) (h stateHeader, store *objectStore, err error) {
	h, store, _, err = readStateFileHeld(dir)
	return h, store, err
}

// readStateFileHeld reads dir/StateFileName: the header of its last whole segment and the
// objects of its segments, in a new in-memory store, and what the file holds (objs nil:
// the next save rewrites it). A missing file returns an error wrapping fs.ErrNotExist.
// Whatever the file holds, it returns an error rather than panic (an object's size is
// bounded by the file's; the git packfile parser of a version 1 file is trusted to bound its
// allocations, and a panic in it is recovered).
func readStateFileHeld(dir string) (h stateHeader, store *objectStore, held stateFile, err error) {
	f, err := os.Open(filepath.Join(dir, StateFileName))
	if err != nil {
		return h, nil, held, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return h, nil, held, err
	}
	if !st.Mode().IsRegular() || st.Size() > maxStateFileSize {
		return h, nil, held, fmt.Errorf("%s: not a regular file under %d bytes", f.Name(), maxStateFileSize)
	}
	r := bufio.NewReaderSize(io.LimitReader(f, maxStateFileSize), 256<<10)
	magic := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != stateMagic && string(magic) != stateMagicV1 {
		return h, nil, held, fmt.Errorf("%s: not an edge state file (%q)", f.Name(), strings.TrimSpace(string(magic)))
	}
	if string(magic) == stateMagicV1 {
		if h, err = readStateHeader(r); err == nil {
			if store, err = readStatePack(r); err != nil {
				err = fmt.Errorf("pack: %w", err)
			}
		}
	} else {
		h, store, held, err = readStateSegments(r, st.Size())
	}
	if err != nil {
		return h, nil, held, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return h, store, held, nil
}

// readStateHeader reads the JSON line of a segment.
func readStateHeader(r *bufio.Reader) (h stateHeader, err error) {
	line, err := readLine(r, maxStateHeader)
	if err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	return decodeStateHeader(line)
}

// decodeStateHeader decodes the JSON line of a segment, without its newline.
func decodeStateHeader(line []byte) (h stateHeader, err error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	return h, nil
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
