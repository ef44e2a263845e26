package gitsource

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"math"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// EarlyBlobs is told of blobs while a fetch's pack still arrives: a copy of the pack is read
// by a goroutine of its own (it inflates each object and resolves the deltas between the
// blobs it looks for), so the caller can start on them while the packfile parser, which
// stores every object and resolves the deltas only at the pack's end, runs on another core.
// At a cold start of 10,000 sites the parser keeps one core busy for most of a second while
// the other one is idle: the agent checks the sites' certificates there.
//
// What it is told is a hint: the blob is not yet in the store and the fetch may still fail,
// and blobs are missed (a delta against a blob not looked for, a thin pack's base held from
// an earlier revision). The hash passed is computed from the content passed, so what the
// caller keeps by hash is right for that content whatever the pack holds.
type EarlyBlobs struct {
	// Prefix selects the blobs: those whose content starts with it.
	Prefix []byte
	// Func is called, one call at a time, with each selected blob's git hash (20 bytes, as
	// TreeFS.FileHash gives it) and content, which it must not modify and may keep. It
	// returns false to stop the scan of this pack.
	Func func(hash, content []byte) bool
}

// testHookEarlyDone is called when a scan of a pack for EarlyBlobs ends.
var testHookEarlyDone func()

// maxEarlyBlob bounds the blobs the scan keeps or hands out.
const maxEarlyBlob = 1 << 20

// spool is a copy of a pack being received: the fetch writes (through an io.TeeReader),
// the early scan reads, waiting for more. Writes never wait, and cost a copy of what they
// write (each write its own piece: no buffer regrown and copied again); after the scan
// stops they are dropped.
type spool struct {
	mu      sync.Mutex
	more    sync.Cond
	pieces  [][]byte // written, not yet read; pieces[0] partly read up to off
	off     int
	done    bool // the fetch wrote its last byte
	stopped bool // the scan ended: drop writes
}

func newSpool() *spool {
	s := &spool{}
	s.more.L = &s.mu
	return s
}

// Write appends a copy of p for the scan; it never fails.
func (s *spool) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.pieces = append(s.pieces, bytes.Clone(p))
		s.more.Signal()
	}
	return len(p), nil
}

// Read gives the scan what the fetch wrote, waiting for it; io.EOF once the fetch is done.
func (s *spool) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.pieces) == 0 && !s.done {
		s.more.Wait()
	}
	if len(s.pieces) == 0 {
		return 0, io.EOF // the pack's end, or where the fetch stopped
	}
	n := copy(p, s.pieces[0][s.off:])
	s.off += n
	if s.off == len(s.pieces[0]) {
		s.pieces[0] = nil
		s.pieces, s.off = s.pieces[1:], 0
	}
	return n, nil
}

// close marks the end of the pack.
func (s *spool) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	s.more.Signal()
}

// stop ends the scan's use of the spool: its memory is dropped, later writes too.
func (s *spool) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped, s.pieces = true, nil
}

// startEarly returns the spool to tee a pack into and starts scanning it for e's blobs,
// keeping at most max bytes of them. The scan runs on hostile content on a goroutine of its
// own: a panic there (in the pack scanner or in e.Func) is recovered and logged to log
// (early_safe.go), never ends the process.
func startEarly(e *EarlyBlobs, max int64, log *slog.Logger) *spool {
	sp := newSpool()
	go func() {
		lowerPriority()
		g := &earlyGuard{log: log}
		defer func() {
			sp.stop()
			g.report()
			if h := testHookEarlyDone; h != nil {
				h()
			}
		}()
		defer g.recoverScan()
		scanEarly(sp, &EarlyBlobs{Prefix: e.Prefix, Func: g.wrap(e.Func)}, max)
	}()
	return sp
}

// scanEarly reads the pack in sp, calling e.Func with each blob starting with e.Prefix,
// until the pack ends, it does not parse, e.Func returns false, or the blobs kept (those
// selected, which may be bases of deltas) pass max bytes. (The pack is hostile until read:
// the spool holds at most the bytes storePack took, but a small delta can make a large
// blob.)
func scanEarly(sp *spool, e *EarlyBlobs, max int64) {
	sc := packfile.NewScanner(sp)
	_, count, err := sc.Header()
	if err != nil {
		return
	}
	kept := map[int64][]byte{}           // selected blobs by pack offset, bases of OFS deltas
	byHash := map[plumbing.Hash][]byte{} // and by hash, bases of REF deltas
	var buf bytes.Buffer
	for range count {
		oh, err := sc.NextObjectHeader()
		if err != nil {
			return
		}
		if oh.Length > maxEarlyBlob {
			continue // the next NextObjectHeader skips it
		}
		buf.Reset()
		if _, _, err := sc.NextObject(&buf); err != nil {
			return
		}
		content := earlyContent(oh, buf.Bytes(), e.Prefix, kept, byHash)
		if content == nil {
			continue
		}
		if max -= int64(len(content)); max < 0 {
			return
		}
		h := plumbing.ComputeHash(plumbing.BlobObject, content)
		kept[oh.Offset], byHash[h] = content, content
		if !e.Func(h[:], content) {
			return
		}
	}
}

// earlyContent returns the content of the object oh whose pack data is data if it is a
// blob starting with prefix: a copy of data, or a delta applied to a kept base; nil for
// other objects and deltas against bases not kept.
func earlyContent(oh *packfile.ObjectHeader, data, prefix []byte, kept map[int64][]byte, byHash map[plumbing.Hash][]byte) []byte {
	var base []byte
	switch oh.Type {
	case plumbing.BlobObject:
		if !bytes.HasPrefix(data, prefix) {
			return nil
		}
		return bytes.Clone(data)
	case plumbing.OFSDeltaObject:
		base = kept[oh.OffsetReference]
	case plumbing.REFDeltaObject:
		base = byHash[oh.Reference]
	}
	if base == nil || deltaTargetSize(data) > maxEarlyBlob {
		return nil // (a small delta can make a large blob: not patched to be skipped)
	}
	out, err := packfile.PatchDelta(base, data)
	if err != nil || !bytes.HasPrefix(out, prefix) {
		return nil
	}
	return out
}

// deltaTargetSize returns the size of the object a git delta makes (its second LEB128
// number, after the base's size); -1 if it does not parse.
func deltaTargetSize(delta []byte) int64 {
	if _, n := binary.Uvarint(delta); n > 0 {
		if size, m := binary.Uvarint(delta[n:]); m > 0 && size <= math.MaxInt64 {
			return int64(size)
		}
	}
	return -1
}
