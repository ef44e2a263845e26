package edge

import (
	"fmt"
	"strconv"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// sitePages is what a site's error pages, maintenance switch and rewrites need at request
// time, prepared once per site. A site with none of them has no sitePages (nil).
type sitePages struct {
	errors     *site.ErrorPages // may be nil
	maint      *site.Page       // the maintenance page (or the 503 page); nil: plain text
	maintOn    bool
	retryAfter string // Retry-After of maintenance 503s, in seconds
	rewrites   []*site.RewriteRule
}

// newSitePages checks and prepares st's error pages, maintenance switch and rewrites; nil
// when it has none of them.
func newSitePages(st *Site) (*sitePages, error) {
	if st.ErrorPages == nil && st.Maintenance == nil && len(st.Rewrites) == 0 {
		return nil, nil
	}
	p := &sitePages{errors: st.ErrorPages}
	if err := checkPages(st.ErrorPages); err != nil {
		return nil, err
	}
	if m := st.Maintenance; m != nil {
		md := m.WithDefaults()
		if md.RetryAfter < 0 {
			return nil, fmt.Errorf("maintenance: negative retry_after")
		}
		p.maintOn = true
		p.retryAfter = strconv.FormatInt(int64((md.RetryAfter+time.Second-1)/time.Second), 10)
		p.maint = md.Page
		if p.maint == nil {
			p.maint = st.ErrorPages.Page(503)
		}
		if err := checkPage(p.maint); err != nil {
			return nil, fmt.Errorf("maintenance page: %w", err)
		}
	}
	if len(st.Rewrites) > site.MaxRewrites {
		return nil, fmt.Errorf("%d rewrites; at most %d", len(st.Rewrites), site.MaxRewrites)
	}
	for i, rw := range st.Rewrites {
		rr, err := site.CompileRewrite(rw)
		if err != nil {
			return nil, fmt.Errorf("rewrite %d (%s): %w", i, rw.From, err)
		}
		p.rewrites = append(p.rewrites, rr)
	}
	return p, nil
}

// checkPages checks every page of ep (which may be nil) and their statuses.
func checkPages(ep *site.ErrorPages) error {
	if ep == nil {
		return nil
	}
	for status, pg := range ep.Status {
		if status < 400 || status > 599 {
			return fmt.Errorf("error page for status %d; want 400 to 599", status)
		}
		if err := checkPage(pg); err != nil {
			return fmt.Errorf("error page %d: %w", status, err)
		}
	}
	if err := checkPage(ep.Client); err != nil {
		return fmt.Errorf("error page 4xx: %w", err)
	}
	if err := checkPage(ep.Server); err != nil {
		return fmt.Errorf("error page 5xx: %w", err)
	}
	return nil
}

// checkPage checks what the data plane relies on: a content type and a bounded body.
func checkPage(pg *site.Page) error {
	switch {
	case pg == nil:
		return nil
	case pg.ContentType == "":
		return fmt.Errorf("%s: no content type", pg.File)
	case len(pg.Body) > site.MaxPageSize:
		return fmt.Errorf("%s: %d bytes; at most %d", pg.File, len(pg.Body), site.MaxPageSize)
	}
	return nil
}
