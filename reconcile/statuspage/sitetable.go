package statuspage

import (
	"cmp"
	"slices"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
)

// sitePage filters, sorts and pages sites (Status.Sites) by q. Traffic is read for the
// rows shown, and for every matched site only when sorting by it.
func (p *page) sitePage(sites []reconcile.SiteStatus, q siteQuery) sitePage {
	now := p.opts.Now()
	idx := make([]int32, 0, len(sites))
	for i := range sites {
		if q.matches(&sites[i], now) {
			idx = append(idx, int32(i))
		}
	}
	var traffic []edge.SiteTraffic // by index into sites, when sorting by it
	if (q.Sort == "requests" || q.Sort == "errors") && p.opts.Edge != nil {
		traffic = make([]edge.SiteTraffic, len(sites))
		for _, i := range idx {
			traffic[i] = p.opts.Edge.SiteTraffic(sites[i].Name)
		}
	}
	slices.SortStableFunc(idx, siteOrder(sites, traffic, q))
	if q.Offset >= len(idx) {
		q.Offset = max(len(idx)-1, 0) / q.Limit * q.Limit // past the end: the last page
	}
	end := min(q.Offset+q.Limit, len(idx))
	res := sitePage{Query: q, Total: len(sites), Matched: len(idx), Sites: make([]siteRow, 0, max(end-q.Offset, 0))}
	for _, i := range idx[min(q.Offset, len(idx)):end] {
		res.Sites = append(res.Sites, p.siteRow(&sites[i]))
	}
	return res
}

// siteOrder returns the comparison of q's sort between indices into sites: the sort key
// in q's order, then the name. Sites without a certificate come last by expiry either way.
func siteOrder(sites []reconcile.SiteStatus, traffic []edge.SiteTraffic, q siteQuery) func(a, b int32) int {
	dir := 1
	if q.Order == "desc" {
		dir = -1
	}
	key := func(a, b int32) int { return 0 }
	switch q.Sort {
	case "state":
		key = func(a, b int32) int { return cmp.Compare(stateRank(sites[a].State), stateRank(sites[b].State)) }
	case "expiry":
		key = func(a, b int32) int { return compareExpiry(sites[a].NotAfter, sites[b].NotAfter, dir) }
	case "requests":
		if traffic != nil {
			key = func(a, b int32) int { return cmp.Compare(traffic[a].Requests, traffic[b].Requests) }
		}
	case "errors":
		if traffic != nil {
			key = func(a, b int32) int {
				return cmp.Or(cmp.Compare(traffic[a].ErrorRate(), traffic[b].ErrorRate()),
					cmp.Compare(traffic[a].ServerErrors, traffic[b].ServerErrors))
			}
		}
	}
	return func(a, b int32) int {
		if c := key(a, b); c != 0 {
			return dir * c
		}
		return dir * cmp.Compare(sites[a].Name, sites[b].Name)
	}
}

// compareExpiry orders expiry times, with the zero time (no certificate served) after all
// others once multiplied by dir.
func compareExpiry(a, b time.Time, dir int) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return dir
	case b.IsZero():
		return -dir
	}
	return a.Compare(b)
}

// stateRank orders states worst first.
func stateRank(s reconcile.SiteState) int {
	switch s {
	case reconcile.SiteFailed:
		return 0
	case reconcile.SiteStale:
		return 1
	}
	return 2
}

// siteRow is the table row of s, with the edge's counters.
func (p *page) siteRow(s *reconcile.SiteStatus) siteRow {
	r := siteRow{SiteStatus: *s}
	if r.Hosts == nil {
		r.Hosts = []string{}
	}
	if p.opts.Edge != nil {
		t := p.opts.Edge.SiteTraffic(s.Name)
		r.Requests, r.Errors5xx, r.ErrorRate = t.Requests, t.ServerErrors, t.ErrorRate()
	}
	return r
}
