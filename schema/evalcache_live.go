package schema

// The live count. The evaluation cache file holds the records the last load wants (those of
// its cached jobs and of their chains' signature checks) and garbage: records of earlier
// revisions, appended over (evalcache_append.go). diskCache.live is the bytes of the wanted
// records, so that the file is rewritten once the garbage passes half of them. An
// incremental load changes what is wanted by its fresh jobs and the jobs they replace or
// drop, and the count follows by key: a signature check is wanted by every site on its
// chain (it stays wanted while one of them is left), and a key may be wanted again while its
// record is still in the file as garbage (a change reverted, a site removed and added back).
// Each key of the file therefore keeps how many jobs want it, and each job whether it was
// counted.

// diskRec is what the cache knows of a key of its file.
type diskRec struct {
	n    int32 // the length of its record; 0: left out by MaxEvalCacheSize
	refs int32 // how many jobs of the last write want it
}

// jobKeys calls f with the keys of the records job j wants: its evaluation's, and its
// chain's signature checks (sig).
func jobKeys(j *siteJob, f func(k [32]byte, sig bool)) {
	f(j.key, false)
	if j.cert != nil && j.cert.facts != nil {
		for _, k := range j.cert.facts.sigKeys {
			f(k, true)
		}
	}
}

// refJob adds d (1 or -1) to the jobs wanting each of j's keys, which the file holds.
func (c *diskCache) refJob(j *siteJob, d int32) {
	jobKeys(j, func(k [32]byte, _ bool) { c.ref(k, d) })
	j.counted = d > 0
}

// ref adds d to the jobs wanting key k, which the file holds: its record counts in live
// while one does.
func (c *diskCache) ref(k [32]byte, d int32) {
	r := c.keys[k]
	was := r.refs > 0
	r.refs += d
	switch now := r.refs > 0; {
	case now && !was:
		c.live += int64(r.n)
	case was && !now:
		c.live -= int64(r.n)
	}
	c.keys[k] = r
}

// unrefAll forgets which keys are wanted, before a full write counts them again.
func (c *diskCache) unrefAll() {
	for k, r := range c.keys {
		r.refs = 0
		c.keys[k] = r
	}
	c.live = 0
}

// garbage is the bytes of the file's records no job wants.
func (c *diskCache) garbage() int64 {
	return c.size - int64(len(evalCacheMagic)+32) - c.live
}
