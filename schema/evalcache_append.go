package schema

import (
	"bufio"
	"bytes"
	"errors"
	"os"
)

// Appending to the evaluation cache file. A commit that changes a few sites of many adds
// a few records: rewriting the whole file for them (13 MB at 10,000 sites: read back,
// every record's checksum checked, written and synced) would make each accepted commit's
// cost scale with the repo instead of the change. New records are appended to the file
// instead, as long as it is whole (it ends with its last record) and the records of keys
// no longer wanted stay under half the size of the records wanted; they stay as garbage
// until then (a key hashes everything its evaluation
// depends on, so an old record is never wrong, only unused). When a reader meets two
// records of one key, the later one wins; an append cut short by a crash leaves a
// truncated record at the end, which the next start reads past and the next write
// replaces with a full rewrite.

// appendNew appends the records of the cached jobs and sigs the file does not hold, and
// reports whether the file is now up to date (false: rewrite it). A failed append forgets
// what the file holds, so the rewrite that follows replaces it.
func (c *diskCache) appendNew(jobs []*siteJob, sigs [][32]byte, cached func(*siteJob) bool) bool {
	return c.appendFrom(0, true, jobs, sigs, cached)
}

// appendFrom is appendNew starting from base bytes of wanted records the file holds, and
// counting those of jobs and sigs it holds already only when countHeld.
func (c *diskCache) appendFrom(base int64, countHeld bool, jobs []*siteJob, sigs [][32]byte, cached func(*siteJob) bool) bool {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	added := map[[32]byte]int64{}
	live := base // the wanted records the file holds
	add := func(k [32]byte, p func() ([]byte, error)) bool {
		if n, ok := c.keys[k]; ok {
			if countHeld {
				live += n
			}
			return true
		}
		b, err := p()
		if err == nil {
			added[k] = writeCacheRecord(w, k, b)
		}
		return err == nil
	}
	for _, k := range sigs {
		add(k, func() ([]byte, error) { return []byte(sigPayload), nil })
	}
	for _, j := range jobs {
		if j.hasKey && cached(j) && !add(j.key, func() ([]byte, error) { return marshalCached(j) }) {
			return false
		}
	}
	w.Flush()
	n := int64(buf.Len())
	switch {
	case n == 0:
		c.live = live
		return true
	case c.size+n > MaxEvalCacheSize || c.size+n-(live+n) > (live+n)/2:
		return false
	}
	if err := appendFile(c.path, c.size, buf.Bytes()); err != nil {
		c.keys = nil
		return false
	}
	c.size += n
	c.live = live + n
	for k, l := range added {
		c.keys[k] = l
	}
	return true
}

// errCacheMoved says the cache file is not the length this process left it at.
var errCacheMoved = errors.New("schema: the evaluation cache file changed under the loader")

// appendFile appends b to the file at path, whose length must be size, and syncs it.
func appendFile(path string, size int64, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil && st.Size() != size {
		err = errCacheMoved
	}
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeChanged brings the file up to date after an incremental load (incremental.go):
// jobs are the load's, fresh the ones it loaded, gone the last load's it replaced or
// dropped. Only the fresh jobs' records are looked at (appended when new); the bytes of
// wanted records are kept up to date from the last full count (live), less the records of
// gone jobs, so the file is still rewritten once half of it is garbage. Without a count, it
// is write.
func (c *diskCache) writeChanged(jobs, fresh, gone []*siteJob, cached func(*siteJob) bool) error {
	if c.keys == nil || c.live <= 0 {
		return c.write(jobs, cached)
	}
	defer c.dropRead()
	kept := make(map[[32]byte]bool, len(fresh))
	for _, j := range fresh {
		kept[j.key] = j.hasKey
	}
	live := c.live
	for _, j := range gone {
		if n, ok := c.keys[j.key]; ok && j.hasKey && !kept[j.key] {
			live -= n
		}
	}
	if c.appendFrom(live, false, fresh, cacheSigKeys(fresh, cached), cached) {
		return nil
	}
	return c.rewrite(jobs, cacheSigKeys(jobs, cached), cached)
}
