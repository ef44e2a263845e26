package keysource

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"sync"

	"github.com/edgectl/edge/schema"
)

// batchSource is a Source that reads many references at once for less than a Fetch each
// (Cache.Sync uses it). fetchAll calls out once per reference, from up to concurrency
// goroutines, with what Fetch would have returned for it.
type batchSource interface {
	fetchAll(ctx context.Context, refs []schema.KeyRef, concurrency int, out func(i int, k Key, err error))
}

var _ batchSource = Dir{}

// fetchAll reads refs as Fetch does, with what is common to them done once: the key
// directory is checked and opened once, each directory holding the keys' own directories
// (secret/edge for secret/edge/<site>/key.pem) is checked once and opened as a root of its
// own, so a key costs a stat of its directory, an open, a stat and a read of its file. A
// reference this fast path cannot read (missing, refused, a symlink leading out of its
// parent directory) is read again by Fetch, whose result (and error) is the one returned:
// the two never differ in what they accept.
func (d Dir) fetchAll(ctx context.Context, refs []schema.KeyRef, concurrency int, out func(int, Key, error)) {
	b := d.openBatch()
	defer b.close()
	sem := make(chan struct{}, max(concurrency, 1))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			k, err := d.fetchIn(ctx, b, ref)
			out(i, k, err)
		}()
	}
	wg.Wait()
}

// fetchIn reads ref the fast way through b, or with Fetch when the fast way could not.
func (d Dir) fetchIn(ctx context.Context, b *dirBatch, ref schema.KeyRef) (Key, error) {
	if k, ok := b.fetch(ctx, ref); ok {
		return k, nil
	}
	return d.Fetch(ctx, ref)
}

var _ sessionSource = Dir{}

// session is a batch of reads whose number is not known yet (a Prefetch): fetchAll's
// shared work done once, each read as fetchAll makes it, until end.
func (d Dir) session() (fetch func(context.Context, schema.KeyRef) (Key, error), end func()) {
	b := d.openBatch()
	return func(ctx context.Context, ref schema.KeyRef) (Key, error) { return d.fetchIn(ctx, b, ref) }, b.close
}

// dirBatch is what the reads of one fetchAll share; nil root: no fast path (Fetch reads
// every key).
type dirBatch struct {
	dir  string
	root *os.Root

	mu      sync.Mutex
	parents map[string]*os.Root // checked parent directories, opened; nil: refused
}

func (d Dir) openBatch() *dirBatch {
	b := &dirBatch{dir: d.Dir, parents: map[string]*os.Root{}}
	if d.Dir == "" {
		return b
	}
	if fi, err := os.Stat(d.Dir); checkPrivate(d.Dir, fi, err) != nil {
		return b
	}
	b.root, _ = os.OpenRoot(d.Dir)
	return b
}

func (b *dirBatch) close() {
	for _, r := range b.parents {
		if r != nil {
			r.Close()
		}
	}
	if b.root != nil {
		b.root.Close()
	}
}

// parent returns the directory rel (slash-separated, below the key directory) opened as a
// root, once every directory from the key directory to it was found private; nil if not.
func (b *dirBatch) parent(rel string) *os.Root {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.parents[rel]; ok {
		return r
	}
	b.parents[rel] = nil
	for sub := range ancestors(rel) {
		fi, err := b.root.Stat(sub)
		if err != nil || checkPrivate(sub, fi, nil) != nil {
			return nil
		}
	}
	r, err := b.root.OpenRoot(rel)
	if err != nil {
		return nil
	}
	b.parents[rel] = r
	return r
}

// ancestors yields rel's leading paths, rel last: a, a/b, a/b/c for a/b/c.
func ancestors(rel string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for i := 0; i < len(rel); i++ {
			if rel[i] == '/' && !yield(rel[:i]) {
				return
			}
		}
		yield(rel)
	}
}

// fetch reads ref's key the fast way; ok is false when it could not (Fetch then decides).
func (b *dirBatch) fetch(ctx context.Context, ref schema.KeyRef) (Key, bool) {
	if b.root == nil || ctx.Err() != nil {
		return Key{}, false
	}
	rel, err := keyFileRel(ref)
	if err != nil {
		return Key{}, false
	}
	keyDir, file := path.Split(rel) // secret/edge/site/, key.pem
	parentRel, leaf := path.Split(path.Clean(keyDir))
	parentRel = path.Clean(parentRel)
	if parentRel == "." {
		return Key{}, false
	}
	p := b.parent(parentRel)
	if p == nil {
		return Key{}, false
	}
	full := filepath.Join(b.dir, filepath.FromSlash(rel))
	fi, err := p.Stat(leaf)
	if err != nil || checkPrivate(filepath.Dir(full), fi, nil) != nil {
		return Key{}, false
	}
	f, err := p.OpenFile(leaf+"/"+file, keyOpenFlag, 0)
	if err != nil {
		return Key{}, false
	}
	defer f.Close()
	k, err := readKeyFile(ref, full, f)
	return k, err == nil
}
