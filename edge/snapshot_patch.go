package edge

import (
	"errors"
	"maps"
	"time"

	"github.com/edgectl/edge/edge/pace"
)

// patchSnapshot is buildSnapshot for the usual change, a few sites among many: when both
// prev's sites and sites are in strictly increasing name order, it walks the two lists
// side by side and copies prev's indexes, changing only the entries of the sites removed,
// added or replaced, instead of indexing every site again. ok is false when it cannot (no
// prev, another order, many changes, or a problem the full build must word: a duplicate
// host, a second default site, a site that does not prepare); buildSnapshot then builds
// in full, with the same result.
func patchSnapshot(generation uint64, commit string, sites []*Site, handlers routeHandlerFunc, prev *Snapshot) (snap *Snapshot, err error, ok bool) {
	if prev == nil || !prev.ordered || !inNameOrder(sites) {
		return nil, nil, false
	}
	entries, gone, fresh, ok := diffEntries(prev, sites)
	if !ok || len(gone)+len(fresh) > 64+len(sites)/8 {
		return nil, nil, false
	}
	s := &Snapshot{generation: generation, commit: commit, created: time.Now(), sites: entries, ordered: true,
		byName: maps.Clone(prev.byName), exact: maps.Clone(prev.exact), wild: maps.Clone(prev.wild),
		def: prev.def, passthrough: prev.passthrough}
	s.drop(gone)
	if !s.add(fresh) {
		return nil, nil, false
	}
	if errs := attachHandlers(fresh, handlers); len(errs) > 0 {
		return nil, errors.Join(errs...), true
	}
	return s, nil, true
}

// inNameOrder reports whether sites are non-nil and in strictly increasing name order.
func inNameOrder(sites []*Site) bool {
	var tick pace.Ticker // the walks of a swap yield to the requests now and then
	for i, st := range sites {
		tick.Tick()
		if st == nil || i > 0 && sites[i-1].Name >= st.Name {
			return false
		}
	}
	return true
}

// diffEntries walks prev's sites and sites (both in name order) side by side: the entries
// of the new snapshot (prev's for the same *Site, else prepared here), prev's entries
// removed or replaced, and the fresh ones. ok is false when a site does not prepare.
func diffEntries(prev *Snapshot, sites []*Site) (entries, gone, fresh []*siteEntry, ok bool) {
	entries = make([]*siteEntry, 0, len(sites))
	old := prev.sites
	var tick pace.Ticker
	for _, st := range sites {
		tick.Tick()
		for len(old) > 0 && old[0].site.Name < st.Name {
			gone, old = append(gone, old[0]), old[1:]
		}
		if len(old) > 0 && old[0].site.Name == st.Name {
			e := old[0]
			old = old[1:]
			if e.site == st {
				entries = append(entries, e)
				continue
			}
			gone = append(gone, e)
		}
		e, _ := newSiteEntry(st)
		if e == nil {
			return nil, nil, nil, false
		}
		entries, fresh = append(entries, e), append(fresh, e)
	}
	return entries, append(gone, old...), fresh, true
}

// drop takes the entries gone out of s's indexes.
func (s *Snapshot) drop(gone []*siteEntry) {
	recheck := false
	for _, e := range gone {
		delete(s.byName, e.site.Name)
		for i, h := range e.site.Hosts {
			m, k := s.hostIndex(h)
			if m[k] == &e.hosts[i] {
				delete(m, k)
			}
		}
		if s.def != nil && s.def.site == e {
			s.def = nil
		}
		recheck = recheck || e.pool != nil
	}
	if recheck {
		s.passthrough = false
		for _, e := range s.sites {
			s.passthrough = s.passthrough || e.pool != nil
		}
	}
}

// add indexes the fresh entries, or returns false on a duplicate host or a second default
// site.
func (s *Snapshot) add(fresh []*siteEntry) bool {
	for _, e := range fresh {
		st := e.site
		s.byName[st.Name] = e
		for i, h := range st.Hosts {
			m, k := s.hostIndex(h)
			if _, dup := m[k]; dup {
				return false
			}
			m[k] = &e.hosts[i]
		}
		if st.Default {
			if s.def != nil {
				return false
			}
			s.def = &hostEntry{site: e, certs: certPointers(e.certs)}
		}
		s.passthrough = s.passthrough || e.pool != nil
	}
	return true
}

// hostIndex returns the index holding host name h and its key there.
func (s *Snapshot) hostIndex(h string) (map[string]*hostEntry, string) {
	if isWildcard(h) {
		return s.wild, h[2:]
	}
	return s.exact, h
}
