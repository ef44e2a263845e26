package gitsource

import (
	"errors"
	"fmt"
	"io"
)

// ErrPackTooLarge is returned (wrapped) when a fetched pack would make the agent hold more
// than Options.MaxPackBytes: the fetch stops there, before allocating for it, and the
// Source keeps its previous revision.
var ErrPackTooLarge = errors.New("reconcile: git pack too large")

// DefaultMaxPackBytes is Options.MaxPackBytes when left zero: 1 GiB. A config repo of
// 10,000 sites takes a few tens of MiB.
const DefaultMaxPackBytes = 1 << 30

// packObjectOverhead is what each object of a pack counts for against the budget on top of
// its bytes: what the store and the parser hold for it besides its content, so that a pack
// of millions of empty objects is bounded too.
const packObjectOverhead = 128

// packBudget is what is left of the bytes one pack may make storePack hold.
type packBudget struct {
	max, left int64
}

// take counts n bytes more for what (an object or delta at offset off) or fails with
// ErrPackTooLarge, naming the limit.
func (b *packBudget) take(n int64, what string, off int64) error {
	if n < 0 || n > b.left {
		return fmt.Errorf("%w: %s at offset %d (%d bytes) would pass the limit of %d bytes a fetch may hold (MaxPackBytes)", ErrPackTooLarge, what, off, n, b.max)
	}
	b.left -= n
	return nil
}

// limitedPack reads a pack as received, failing with ErrPackTooLarge past max bytes.
type limitedPack struct {
	r    io.Reader
	left int64
	max  int64
}

func (l *limitedPack) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, fmt.Errorf("%w: more than the %d bytes a fetch may receive (MaxPackBytes)", ErrPackTooLarge, l.max)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// exactWriter collects an object's inflated content into a slice of the size its header
// says, size, failing on a byte more. The slice grows as content comes, by doubling, up to
// size, from maxPrealloc: what the header says is not allocated before the content shows
// it true (a 20-byte pack can say an object of 800 MiB).
type exactWriter struct {
	b    []byte
	size int
}

// maxPrealloc is the most exactWriter allocates for an object before its content comes.
const maxPrealloc = 1 << 20

func newExactWriter(size int64) *exactWriter {
	return &exactWriter{b: make([]byte, 0, min(size, maxPrealloc)), size: int(size)}
}

func (w *exactWriter) Write(p []byte) (int, error) {
	if len(p) > w.size-len(w.b) {
		return 0, errInflatedPastHeader
	}
	if len(p) > cap(w.b)-len(w.b) {
		b := make([]byte, len(w.b), min(max(2*cap(w.b), len(w.b)+len(p)), w.size))
		copy(b, w.b)
		w.b = b
	}
	w.b = append(w.b, p...)
	return len(p), nil
}

// errInflatedPastHeader is an object inflating to more than its header says.
var errInflatedPastHeader = errors.New("object inflates past the size its header says")
