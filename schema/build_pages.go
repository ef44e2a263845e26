package schema

import (
	"strconv"

	"github.com/edgectl/edge/edge/site"
)

// applyPages sets the error pages, maintenance switch and rewrites that d declares on s,
// with the page files of pg (nil when d names none).
func applyPages(s *site.Site, d *pagesDecl, pg *pagesResult) {
	pageOf := func(p strPos) *site.Page {
		if pg == nil || p.S == "" {
			return nil
		}
		return pg.pages[p.S]
	}
	if len(d.Pages) > 0 || d.Upstream {
		ep := &site.ErrorPages{Upstream: d.Upstream}
		for _, r := range d.Pages {
			switch r.Key {
			case "4xx":
				ep.Client = pageOf(r.File)
			case "5xx":
				ep.Server = pageOf(r.File)
			default:
				if ep.Status == nil {
					ep.Status = map[int]*site.Page{}
				}
				n, _ := strconv.Atoi(r.Key)
				ep.Status[n] = pageOf(r.File)
			}
		}
		s.ErrorPages = ep
	}
	if m := d.Maint; m != nil && !m.Off {
		s.Maintenance = &site.Maintenance{RetryAfter: m.RetryAfter, Page: pageOf(m.Page)}
	}
	for _, rw := range d.Rewrites {
		s.Rewrites = append(s.Rewrites, site.Rewrite{From: rw.From.S, To: rw.To.S})
	}
}

// pagesHash is what the page files add to a site's digest: nothing without any.
func pagesHash(pg *pagesResult) [][32]byte {
	if pg == nil {
		return nil
	}
	return [][32]byte{pg.hash}
}
