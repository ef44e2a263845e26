package schema

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// EvalCacheFile is the name of the file in LoaderOptions.CacheDir that keeps site
// evaluations across processes.
const EvalCacheFile = "evalcache"

// MaxEvalCacheSize bounds the evaluation cache file: sites past it are not kept (they are
// evaluated again on the next start).
const MaxEvalCacheSize = 256 << 20

// testHookEvaluating is called with each site file a load evaluates (not found in a cache).
var testHookEvaluating func(file string)

// evalCacheMagic starts the file; a new layout or meaning takes a new magic.
const evalCacheMagic = "edge-evalcache/1\n"

// evalCacheRecHead is a record's key (32), payload length (4) and payload SHA-256 (32).
const evalCacheRecHead = 32 + 4 + 32

// diskCache is the evaluation cache file of a Loader: site declarations that evaluated
// without error, each keyed by the hash of everything its evaluation depends on (see
// siteCacheKey). Only declarations are kept: they name Vault paths, never secrets.
type diskCache struct {
	path    string
	salt    [32]byte
	entries map[[32]byte][]byte // read at the first load, dropped after it
	read    bool
	loading chan struct{} // closed when a read started by loadAhead is done; nil: none
	sigs    sigCache      // signature checks (sigcache.go)
	// keys are the keys of the file's records with each record's length and how many jobs
	// want it, size the file's length (evalcache_append.go, evalcache_live.go); nil keys:
	// not known, the next write is a full one.
	keys map[[32]byte]diskRec
	size int64
	live int64 // of size, the bytes of the records the last write's jobs want
}

// cachedSite is one record's payload, in JSON. The declaration types tag their fields
// omitzero: a zero field is left out and decodes to the same zero value, which halves a
// plain site's record (1,211 bytes to 522; 13.5 MB to 6.5 MB at 10,000 sites) and the
// decoding a warm start does for every site.
type cachedSite struct {
	Decl  *siteDecl
	Diags []Diagnostic `json:",omitempty"`
}

func newDiskCache(dir string, opts LoaderOptions) *diskCache {
	h := sha256.New()
	h.Write([]byte(evalCacheMagic))
	h.Write(SchemaCUE)
	b := executableID()
	h.Write(b[:])
	iso := opts.Isolation
	if iso.Enabled {
		iso = iso.withDefaults()
	}
	fmt.Fprintf(h, "\x00%t %d %d %d", iso.Enabled, iso.MemoryLimit, iso.FileTimeout, opts.MaxFileSize)
	c := &diskCache{path: filepath.Join(dir, EvalCacheFile)}
	h.Sum(c.salt[:0])
	c.sigs.salt = c.salt
	return c
}

// siteCacheKey is the key of a site file's evaluation: the cache's salt (schema, program,
// limits), edge.cue's content, the file's path, its site name and its content.
func (c *diskCache) siteCacheKey(repo *repoResult, j *siteJob, content [32]byte) [32]byte {
	h := sha256.New()
	h.Write(c.salt[:])
	if repo != nil && repo.exist {
		h.Write([]byte{1})
		h.Write(repo.hash[:])
	} else {
		h.Write([]byte{0})
	}
	h.Write([]byte(strconv.Quote(j.file) + strconv.Quote(j.name)))
	h.Write(content[:])
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// load reads the cache file once (at the first load); a missing, foreign or damaged file
// only means misses. It waits for a read loadAhead started.
func (c *diskCache) load() {
	if c.loading != nil {
		<-c.loading
		c.loading = nil
		return
	}
	if c.read {
		return
	}
	c.readEntries()
}

// loadAhead starts load's read of the file in the background, unless the file was read or
// is being read: the next load waits for it.
func (c *diskCache) loadAhead() {
	if c.loading != nil || c.read { // (c.read is the reading goroutine's while loading)
		return
	}
	done := make(chan struct{})
	c.loading = done
	go func() {
		defer close(done)
		c.readEntries()
	}()
}

// readEntries reads the file into entries, keys and the signature checks.
func (c *diskCache) readEntries() {
	c.read = true
	removeCacheTemps(filepath.Dir(c.path))
	var clean bool
	c.entries, clean, c.size = c.readFile()
	if clean {
		c.keys = make(map[[32]byte]diskRec, len(c.entries))
	}
	for k, p := range c.entries {
		if c.keys != nil {
			c.keys[k] = diskRec{n: int32(evalCacheRecHead + len(p))}
		}
		if string(p) == sigPayload {
			if c.sigs.ok == nil {
				c.sigs.ok = map[[32]byte]bool{}
			}
			c.sigs.ok[k] = true
			delete(c.entries, k)
		}
	}
}

// readFile returns the file's records, whether the file is whole (its header ours, its
// records ending where it ends: records may be appended to it) and its length.
func (c *diskCache) readFile() (m map[[32]byte][]byte, clean bool, size int64) {
	b, err := os.ReadFile(c.path)
	if err != nil || len(b) < len(evalCacheMagic)+32 || string(b[:len(evalCacheMagic)]) != evalCacheMagic ||
		[32]byte(b[len(evalCacheMagic):len(evalCacheMagic)+32]) != c.salt {
		return nil, false, 0
	}
	m, rest := parseCacheRecords(b[len(evalCacheMagic)+32:])
	return m, rest == 0, int64(len(b))
}

// parseCacheRecords returns the records of b whose checksum holds, and how many bytes are
// left after the last whole record (a truncated one stops it).
func parseCacheRecords(b []byte) (map[[32]byte][]byte, int) {
	m := map[[32]byte][]byte{}
	for len(b) >= evalCacheRecHead {
		key := [32]byte(b[:32])
		n := int(binary.BigEndian.Uint32(b[32:36]))
		sum := [32]byte(b[36:68])
		if n > len(b)-evalCacheRecHead {
			break
		}
		b = b[evalCacheRecHead:]
		if p := b[:n]; sha256.Sum256(p) == sum {
			m[key] = p
		}
		b = b[n:]
	}
	return m, len(b)
}

// lookup returns the cached result for key, or nil. A payload that does not decode is a miss.
func (c *diskCache) lookup(key [32]byte, h [32]byte) *siteResult {
	p, ok := c.entries[key]
	if !ok {
		return nil
	}
	var cs cachedSite
	if json.Unmarshal(p, &cs) != nil || cs.Decl == nil || hasError(cs.Diags) {
		return nil
	}
	return &siteResult{hash: h, decl: cs.Decl, diags: cs.Diags}
}

// cacheable says whether res may be kept: a declaration without errors.
func cacheable(res *siteResult) bool {
	return res != nil && res.decl != nil && !hasError(res.diags)
}

// write brings the cache file up to the records of the jobs that evaluated without error:
// nothing when it holds them all, an append of the new ones while the records no longer
// wanted stay under half the size of those wanted (evalcache_append.go), else a full
// rewrite.
func (c *diskCache) write(jobs []*siteJob, cached func(*siteJob) bool) error {
	defer c.dropRead()
	if c.keys != nil {
		c.unrefAll()
		if c.appendChanged(jobs, nil, cached) {
			return nil
		}
	}
	return c.rewrite(jobs, cacheSigKeys(jobs, cached), cached)
}

// rewrite replaces the cache file with the records of the cached jobs and sigs, taking
// each from the old file when it holds it.
func (c *diskCache) rewrite(jobs []*siteJob, sigs [][32]byte, cached func(*siteJob) bool) error {
	old := c.entries
	if old == nil {
		old, _, _ = c.readFile()
	}
	c.keys = nil
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return err
	}
	keys := make(map[[32]byte]diskRec, len(jobs)+len(sigs))
	size := int64(len(evalCacheMagic) + 32)
	err := writeAtomic(c.path, func(w *bufio.Writer) error {
		w.WriteString(evalCacheMagic)
		w.Write(c.salt[:])
		for _, k := range sigs {
			keys[k] = diskRec{} // even when MaxEvalCacheSize leaves it out: kept out until a change
			if size+evalCacheRecHead+int64(len(sigPayload)) <= MaxEvalCacheSize {
				keys[k] = diskRec{n: int32(writeCacheRecord(w, k, []byte(sigPayload)))}
				size += int64(keys[k].n)
			}
		}
		for _, j := range jobs {
			if !j.hasKey || !cached(j) {
				continue
			}
			keys[j.key] = diskRec{}
			p, ok := old[j.key]
			if !ok {
				var err error
				if p, err = marshalCached(j); err != nil {
					return err
				}
			}
			if size+evalCacheRecHead+int64(len(p)) <= MaxEvalCacheSize {
				keys[j.key] = diskRec{n: int32(writeCacheRecord(w, j.key, p))}
				size += int64(keys[j.key].n)
			}
		}
		return nil
	})
	if err == nil {
		c.keys, c.size, c.live = keys, size, 0
		c.countAll(jobs, cached)
	}
	return err
}

// countAll counts the keys of the cached jobs as wanted, those of the others not.
func (c *diskCache) countAll(jobs []*siteJob, cached func(*siteJob) bool) {
	for _, j := range jobs {
		j.counted = false
		if j.hasKey && cached(j) {
			c.refJob(j, 1)
		}
	}
}

// marshalCached is the record payload of job j.
func marshalCached(j *siteJob) ([]byte, error) {
	return json.Marshal(cachedSite{Decl: j.res.decl, Diags: j.res.diags})
}

// writeCacheRecord writes the record of key and payload p, and returns its length.
func writeCacheRecord(w *bufio.Writer, key [32]byte, p []byte) int64 {
	var head [evalCacheRecHead]byte
	copy(head[:32], key[:])
	binary.BigEndian.PutUint32(head[32:36], uint32(len(p)))
	sum := sha256.Sum256(p)
	copy(head[36:], sum[:])
	w.Write(head[:])
	w.Write(p)
	return int64(len(head) + len(p))
}

// writeAtomic writes path through a temporary file in its directory, synced and renamed
// over it: a crash leaves the old file or the new one, never half of one.
func writeAtomic(path string, fill func(*bufio.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 256<<10)
	if err := fill(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// removeCacheTemps removes temporary files a crashed write left in dir.
func removeCacheTemps(dir string) {
	tmps, _ := filepath.Glob(filepath.Join(dir, "."+EvalCacheFile+"-*"))
	for _, t := range tmps {
		os.Remove(t)
	}
}

// diskHit returns j's result from the evaluation cache file (and remembers it like an
// evaluated one), or nil.
func (l *Loader) diskHit(j *siteJob, h [32]byte) *siteResult {
	if l.disk == nil || l.disk.entries == nil {
		return nil
	}
	res := l.disk.lookup(j.key, h)
	if res == nil {
		return nil
	}
	shareDeclStrings(res.decl, j)
	l.cmu.Lock()
	l.sites[j.file] = res
	l.cmu.Unlock()
	return res
}

// saveDisk writes the evaluation cache file after a load; a failure costs only the next
// start's time, so it is not the load's error.
func (l *Loader) saveDisk(d *diskWrite) {
	if l.disk == nil {
		return
	}
	l.cmu.Lock()
	defer l.cmu.Unlock()
	cached := func(j *siteJob) bool { return l.sites[j.file] == j.res && cacheable(j.res) }
	var err error
	if d.incremental {
		err = l.disk.writeChanged(d.jobs, d.fresh, d.gone, cached)
	} else {
		err = l.disk.write(d.jobs, cached)
	}
	l.diskErr = nil
	if err != nil {
		l.diskErr = fmt.Errorf("schema: evaluation cache %s: %w", l.disk.path, err)
	}
}

// saveDiskOrDefer writes the evaluation cache after a load, or with DeferCacheWrite keeps
// the load's jobs for WriteEvalCache. Called with l.mu held.
func (l *Loader) saveDiskOrDefer(jobs []*siteJob) {
	l.saveDiskChanged(&diskWrite{jobs: jobs})
}

// diskWrite is the evaluation cache write a load leaves: its jobs, and for an incremental
// load the jobs it loaded (fresh) and those it replaced or dropped (gone).
type diskWrite struct {
	jobs, fresh, gone []*siteJob
	incremental       bool
}

// saveDiskChanged writes the evaluation cache after a load, or with DeferCacheWrite keeps
// the write for WriteEvalCache. Called with l.mu held.
func (l *Loader) saveDiskChanged(d *diskWrite) {
	if l.disk != nil && l.opts.DeferCacheWrite {
		l.pending = d
		return
	}
	l.saveDisk(d)
}

// flushDisk writes the evaluation cache a deferred load left, if any. Called with l.mu held.
func (l *Loader) flushDisk() {
	if d := l.pending; d != nil {
		l.pending = nil
		l.saveDisk(d)
	}
}

// ReadEvalCacheAhead starts reading the evaluation cache file (LoaderOptions.CacheDir) in
// the background, for the first load to come, which then waits for the read rather than
// making it: the agent calls it before it reads the revision saved in its state dir, so
// that the two reads of a start overlap (at 10,000 sites the load spent about 4 % of its
// time reading and checking the file, the other core idle). It does nothing without
// CacheDir or once a load read the file.
func (l *Loader) ReadEvalCacheAhead() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.disk != nil {
		l.disk.loadAhead()
	}
}

// WriteEvalCache writes the evaluation cache file of the last load, when
// LoaderOptions.DeferCacheWrite left it unwritten (the agent calls it once the load's
// snapshot serves); otherwise it does nothing. A failure is returned by EvalCacheError.
func (l *Loader) WriteEvalCache() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushDisk()
}

// EvalCacheError returns why the last load could not write the evaluation cache file
// (LoaderOptions.CacheDir), or nil. Such a failure costs only the next start's time.
func (l *Loader) EvalCacheError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.diskErr
}

// dropRead forgets what the file held: after the first load the in-memory results serve.
func (c *diskCache) dropRead() {
	c.entries = nil
	c.sigs.mu.Lock()
	c.sigs.ok = nil
	c.sigs.mu.Unlock()
}

// cacheSigKeys returns the signature checks of the certificates of the cached jobs, each
// once.
func cacheSigKeys(jobs []*siteJob, cached func(*siteJob) bool) [][32]byte {
	seen := map[[32]byte]bool{}
	var ks [][32]byte
	for _, j := range jobs {
		if !j.hasKey || !cached(j) || j.cert == nil || j.cert.facts == nil {
			continue
		}
		for _, k := range j.cert.facts.sigKeys {
			if !seen[k] {
				seen[k] = true
				ks = append(ks, k)
			}
		}
	}
	return ks
}
