package statuspage

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgectl/edge/reconcile"
)

// Paging bounds of the site table.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// siteQuery is what the site table shows: the sites whose name or a host contains Q (case
// insensitive), in State if set, whose certificate expires within Expires days if set (0:
// expired), sorted by Sort ("name", "state": failing first, "expiry": soonest first,
// "requests", "errors": 5xx rate) in Order ("asc" or "desc"), Limit of them from Offset.
type siteQuery struct {
	Q       string `json:"q"`
	State   string `json:"state"`
	Expires int    `json:"expires"` // days; -1: no expiry filter
	Sort    string `json:"sort"`
	Order   string `json:"order"`
	Offset  int    `json:"offset"`
	Limit   int    `json:"limit"`
}

var sortKeys = []string{"name", "state", "expiry", "requests", "errors"}

// parseSiteQuery reads a siteQuery from URL parameters. Unknown values are errors; numbers
// out of range are clamped (offset later, to the rows matched).
func parseSiteQuery(v url.Values) (siteQuery, error) {
	q := siteQuery{Q: strings.ToLower(strings.TrimSpace(v.Get("q"))), State: v.Get("state"),
		Expires: -1, Sort: cmp.Or(v.Get("sort"), "name"), Order: v.Get("order"), Limit: defaultLimit}
	if len(q.Q) > 256 {
		return q, fmt.Errorf("q: longer than 256 bytes")
	}
	switch reconcile.SiteState(q.State) {
	case "", reconcile.SiteServing, reconcile.SiteStale, reconcile.SiteFailed:
	default:
		return q, fmt.Errorf("state %q: want serving, stale or failed", q.State)
	}
	if !slices.Contains(sortKeys, q.Sort) {
		return q, fmt.Errorf("sort %q: want one of %s", q.Sort, strings.Join(sortKeys, ", "))
	}
	switch q.Order {
	case "":
		q.Order = "asc"
		if q.Sort == "requests" || q.Sort == "errors" {
			q.Order = "desc" // the busiest, the most failing first
		}
	case "asc", "desc":
	default:
		return q, fmt.Errorf("order %q: want asc or desc", q.Order)
	}
	for _, n := range []struct {
		name string
		dst  *int
	}{{"offset", &q.Offset}, {"limit", &q.Limit}, {"expires", &q.Expires}} {
		if s := v.Get(n.name); s != "" {
			i, err := strconv.Atoi(s)
			if err != nil {
				return q, fmt.Errorf("%s %q: want an integer", n.name, s)
			}
			*n.dst = i
		}
	}
	q.Offset = max(q.Offset, 0)
	if q.Limit <= 0 {
		q.Limit = defaultLimit
	}
	q.Limit = min(q.Limit, maxLimit)
	q.Expires = max(q.Expires, -1)
	return q, nil
}

// siteRow is one row of the site table: the site's status as the agent reports it, and
// what the edge counted for it.
type siteRow struct {
	reconcile.SiteStatus
	Requests  uint64  `json:"requests"`
	Errors5xx uint64  `json:"errors5xx"`
	ErrorRate float64 `json:"errorRate"`
}

// sitePage is one page of the site table: Matched of Total sites match the query, Sites
// are those from Offset.
type sitePage struct {
	Query   siteQuery `json:"query"`
	Total   int       `json:"total"`
	Matched int       `json:"matched"`
	Sites   []siteRow `json:"sites"`
}

// matches reports whether site s passes q's filters.
func (q *siteQuery) matches(s *reconcile.SiteStatus, now time.Time) bool {
	if q.State != "" && string(s.State) != q.State {
		return false
	}
	if q.Expires >= 0 && (s.NotAfter.IsZero() || s.NotAfter.After(now.AddDate(0, 0, q.Expires))) {
		return false
	}
	if q.Q == "" || containsFold(s.Name, q.Q) {
		return true
	}
	for _, h := range s.Hosts {
		if containsFold(h, q.Q) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains sub, already lower case, ignoring case. Host
// names are lower case already: the common case costs one strings.Contains.
func containsFold(s, sub string) bool {
	if strings.Contains(s, sub) {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.Contains(strings.ToLower(s), sub)
		}
	}
	return false
}
