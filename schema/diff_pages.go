package schema

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// pagesChanges lists what changed in the error pages, maintenance switch and rewrites of a
// site (b before, h after), a changed page file's content included.
func pagesChanges(b, h *Site) []Change {
	var cs []Change
	if d := errorPagesString(b.ErrorPages); d != errorPagesString(h.ErrorPages) || !samePages(b.ErrorPages, h.ErrorPages) {
		cs = append(cs, Change{What: "error_pages", Detail: fmt.Sprintf("%s → %s", d, errorPagesString(h.ErrorPages))})
	}
	if d := maintenanceString(b.Maintenance); d != maintenanceString(h.Maintenance) || !samePage(maintPage(b), maintPage(h)) {
		cs = append(cs, Change{What: "maintenance", Detail: fmt.Sprintf("%s → %s", d, maintenanceString(h.Maintenance))})
	}
	if d := rewritesString(b.Rewrites); d != rewritesString(h.Rewrites) {
		cs = append(cs, Change{What: "rewrites", Detail: fmt.Sprintf("%s → %s", d, rewritesString(h.Rewrites))})
	}
	return cs
}

func errorPagesString(ep *site.ErrorPages) string {
	if ep == nil {
		return "none"
	}
	var parts []string
	for _, code := range slices.Sorted(func(yield func(int) bool) {
		for c := range ep.Status {
			if !yield(c) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%d: %s", code, pageName(ep.Status[code])))
	}
	if ep.Client != nil {
		parts = append(parts, "4xx: "+pageName(ep.Client))
	}
	if ep.Server != nil {
		parts = append(parts, "5xx: "+pageName(ep.Server))
	}
	if ep.Upstream {
		parts = append(parts, "upstream")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// pageName names a page and its size: a plan shows that a page's content changed.
func pageName(p *site.Page) string {
	if p == nil {
		return "none"
	}
	sum := sha256.Sum256(p.Body)
	return fmt.Sprintf("%s (%d bytes, sha256 %s)", p.File, len(p.Body), hex.EncodeToString(sum[:4]))
}

func samePages(a, b *site.ErrorPages) bool {
	if a == nil || b == nil {
		return a == b
	}
	for c, p := range a.Status {
		if !samePage(p, b.Status[c]) {
			return false
		}
	}
	return samePage(a.Client, b.Client) && samePage(a.Server, b.Server)
}

func samePage(a, b *site.Page) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.File == b.File && bytes.Equal(a.Body, b.Body)
}

func maintPage(s *Site) *site.Page {
	if s.Maintenance == nil {
		return nil
	}
	return s.Maintenance.Page
}

func maintenanceString(m *site.Maintenance) string {
	if m == nil {
		return "off"
	}
	md := m.WithDefaults()
	return fmt.Sprintf("on (retry after %s, page %s)", formatDuration(md.RetryAfter), pageName(md.Page))
}

func rewritesString(rws []site.Rewrite) string {
	if len(rws) == 0 {
		return "none"
	}
	parts := make([]string, len(rws))
	for i, rw := range rws {
		parts[i] = rw.From + " → " + rw.To
	}
	return strings.Join(parts, ", ")
}
