package edge

import (
	"fmt"

	"github.com/edgectl/edge/edge/passthrough"
)

// newPassthroughEntry checks a passthrough site (Passthrough set) and prepares it: its
// hosts, indexed like a terminated site's but without certificates, and its upstream
// pool (not started: Server.swap starts the pools of the snapshot it publishes). A
// passthrough site has no certificates, routes, redirects or headers, and cannot be the
// default site: a ClientHello without SNI or with an unknown one is never passed through.
func newPassthroughEntry(st *Site) (*siteEntry, []error) {
	var errs []error
	bad := func(kind error, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: site %s: %s", kind, st.Name, fmt.Sprintf(format, args...)))
	}
	checkNameAndHosts(st, bad)
	if len(st.Certificates) > 0 {
		bad(ErrInvalidSite, "a passthrough site has no certificates (its upstream terminates TLS)")
	}
	if len(st.Routes) > 0 || len(st.Redirects) > 0 || st.Headers.Set != nil || st.Headers.Remove != nil || st.Headers.HSTS != nil {
		bad(ErrInvalidSite, "a passthrough site has no routes, redirects or headers")
	}
	if st.Default {
		bad(ErrInvalidSite, "a passthrough site cannot be the default site")
	}
	pool, err := passthrough.NewPool(st.Name, *st.Passthrough, nil)
	if err != nil {
		bad(ErrInvalidSite, "passthrough: %v", err)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	e := &siteEntry{site: st, hosts: make([]hostEntry, len(st.Hosts)), pool: pool}
	for i := range st.Hosts {
		e.hosts[i] = hostEntry{site: e}
	}
	return e, nil
}

// startPools starts the health checks of snap's passthrough sites and stops those of
// old's that snap does not keep (removed or changed sites). Open connections hold their
// upstream connection, not the pool, so they go on.
func startPools(snap, old *Snapshot) {
	if !snap.passthrough && (old == nil || !old.passthrough) {
		return // no pool in either: nothing to walk (10,000 sites at every swap)
	}
	for _, e := range snap.sites {
		if e.pool != nil {
			e.pool.Start()
		}
	}
	if old == nil {
		return
	}
	for _, e := range old.sites {
		if e.pool != nil && snap.byName[e.site.Name] != e {
			e.pool.Close()
		}
	}
}

// closePools stops the health checks of snap's passthrough sites (Shutdown).
func closePools(snap *Snapshot) {
	if snap == nil {
		return
	}
	for _, e := range snap.sites {
		if e.pool != nil {
			e.pool.Close()
		}
	}
}

// swapPassthrough follows a swap from old (nil for the first) to snap: pools started and
// stopped (see startPools), and the series of passthrough sites snap no longer passes
// through deleted.
func (s *Server) swapPassthrough(snap *Snapshot, old *served) {
	var prev *Snapshot
	if old != nil {
		prev = old.snap
	}
	startPools(snap, prev)
	if prev == nil || !prev.passthrough {
		return
	}
	for _, e := range prev.sites {
		if n := snap.byName[e.site.Name]; e.pool != nil && (n == nil || n.pool == nil) {
			s.metrics.pt.forget(e.site.Name)
		}
	}
}
