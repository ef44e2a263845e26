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

// appendChanged appends the records of the fresh cached jobs the file does not hold,
// counts the fresh jobs' keys as wanted and the gone jobs' as no longer wanted
// (evalcache_live.go), and reports whether the file is now up to date (false: rewrite it).
// A failed append forgets what the file holds, so the rewrite that follows replaces it.
func (c *diskCache) appendChanged(fresh, gone []*siteJob, cached func(*siteJob) bool) bool {
	added, b, ok := c.newRecords(fresh, cached)
	if !ok || len(b) > 0 && c.size+int64(len(b)) > MaxEvalCacheSize {
		return false
	}
	for k, n := range added {
		c.keys[k] = diskRec{n: n}
	}
	for _, j := range gone {
		if j.counted {
			c.refJob(j, -1)
		}
	}
	for _, j := range fresh {
		if j.hasKey && cached(j) {
			c.refJob(j, 1)
		}
	}
	switch {
	case len(b) == 0:
		return true
	case c.garbage()+int64(len(b)) > c.live/2:
		return false // c.live counts b's records already: the file holds them after the rewrite
	}
	if err := appendFile(c.path, c.size, b); err != nil {
		c.keys = nil
		return false
	}
	c.size += int64(len(b))
	return true
}

// newRecords returns the records of the cached jobs' keys the file does not hold, each
// once: their lengths by key and their bytes. ok is false when one cannot be made.
func (c *diskCache) newRecords(jobs []*siteJob, cached func(*siteJob) bool) (added map[[32]byte]int32, b []byte, ok bool) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	added, ok = map[[32]byte]int32{}, true
	for _, j := range jobs {
		if !j.hasKey || !cached(j) {
			continue
		}
		jobKeys(j, func(k [32]byte, sig bool) {
			if _, held := c.keys[k]; held || added[k] > 0 || !ok {
				return
			}
			p, err := []byte(sigPayload), error(nil)
			if !sig {
				p, err = marshalCached(j)
			}
			if ok = err == nil; ok {
				added[k] = int32(writeCacheRecord(w, k, p))
			}
		})
	}
	w.Flush()
	return added, buf.Bytes(), ok
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
// dropped. Only the fresh and gone jobs are looked at: the fresh ones' new records are
// appended, and the count of wanted bytes follows both (evalcache_live.go), so the file is
// still rewritten once half of it is garbage. Without a count, it is write.
func (c *diskCache) writeChanged(jobs, fresh, gone []*siteJob, cached func(*siteJob) bool) error {
	if c.keys == nil {
		return c.write(jobs, cached)
	}
	defer c.dropRead()
	if c.appendChanged(fresh, gone, cached) {
		return nil
	}
	return c.rewrite(jobs, cacheSigKeys(jobs, cached), cached)
}
