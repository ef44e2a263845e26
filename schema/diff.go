package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// Plan is what changes between two configs of a repo, for review: sites and host names
// added, removed and changed, and what changed in each.
type Plan struct {
	// Added and Removed are sites present on one side only, in name order.
	Added   []SiteSummary `json:"added"`
	Removed []SiteSummary `json:"removed"`
	// Changed are sites present on both sides whose Digest differs, in name order.
	Changed []SiteChange `json:"changed"`
	// HostsAdded and HostsRemoved are host names served after and not before (and the
	// reverse), fleet-wide, sorted. A host moved between sites is in neither.
	HostsAdded   []string `json:"hosts_added"`
	HostsRemoved []string `json:"hosts_removed"`
	// Unchanged counts the sites with equal digests.
	Unchanged int `json:"unchanged"`
	// Security lists the changes that weaken, or may weaken, a site's protection (they
	// are among Changed too), in site order.
	Security []SecurityChange `json:"security,omitempty"`
}

// SiteSummary describes one site in a Plan.
type SiteSummary struct {
	Name  string   `json:"name"`
	File  string   `json:"file"`
	Hosts []string `json:"hosts"`
	// Cert describes the leaf certificate: subject names, expiry and SHA-256 fingerprint.
	// Empty for a passthrough site.
	Cert string `json:"cert"`
	// Passthrough describes a passthrough site's upstreams and options; empty for a site
	// the edge terminates.
	Passthrough string `json:"passthrough,omitempty"`
	// Issuer says where an issued certificate comes from ("le: acme https://..."); empty
	// for a site serving a committed certificate.
	Issuer string `json:"issuer,omitempty"`
}

// SiteChange lists what changed in one site.
type SiteChange struct {
	Name    string   `json:"name"`
	File    string   `json:"file"`
	Changes []Change `json:"changes"`
}

// Change is one difference: What changed ("hosts", "route /api", "cert", "key", ...) and a
// Detail in words.
type Change struct {
	What   string `json:"what"`
	Detail string `json:"detail"`
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	return len(p.Added) == 0 && len(p.Removed) == 0 && len(p.Changed) == 0
}

// Diff compares base with head. A nil base (an empty or invalid base revision) makes every
// head site an addition.
func Diff(base, head *Config) *Plan {
	p := &Plan{}
	bs, hs := map[string]*Site{}, map[string]*Site{}
	bh, hh := map[string]bool{}, map[string]bool{}
	if base != nil {
		for _, s := range base.Sites {
			bs[s.Name] = s
			for _, h := range s.Hosts {
				bh[h] = true
			}
		}
	}
	if head != nil {
		for _, s := range head.Sites {
			hs[s.Name] = s
			for _, h := range s.Hosts {
				hh[h] = true
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(hs)) {
		h, b := hs[n], bs[n]
		switch {
		case b == nil:
			p.Added = append(p.Added, summarize(h))
		case b.Digest == h.Digest:
			p.Unchanged++
		default:
			if cs := siteChanges(b, h); len(cs) > 0 {
				p.Changed = append(p.Changed, SiteChange{Name: n, File: h.File, Changes: cs})
			} else {
				p.Unchanged++ // e.g. only comments changed
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(bs)) {
		if hs[n] == nil {
			p.Removed = append(p.Removed, summarize(bs[n]))
		}
	}
	for h := range hh {
		if !bh[h] {
			p.HostsAdded = append(p.HostsAdded, h)
		}
	}
	for h := range bh {
		if !hh[h] {
			p.HostsRemoved = append(p.HostsRemoved, h)
		}
	}
	sort.Strings(p.HostsAdded)
	sort.Strings(p.HostsRemoved)
	p.Security = securityChanges(bs, hs)
	describeIssuers(p, base, head)
	return p
}

func summarize(s *Site) SiteSummary {
	if s.Passthrough != nil {
		return SiteSummary{Name: s.Name, File: s.File, Hosts: s.Hosts, Passthrough: passthroughString(s.Passthrough)}
	}
	return SiteSummary{Name: s.Name, File: s.File, Hosts: s.Hosts, Cert: certSummary(s.Cert)}
}

// certSummary describes a chain's leaf: names, expiry and fingerprint.
func certSummary(c Cert) string {
	if c.Leaf == nil || len(c.DER) == 0 {
		return c.File
	}
	leaf := c.Leaf
	fp := sha256.Sum256(c.DER[0])
	return fmt.Sprintf("%s: %s, expires %s, sha256 %s", c.File, sansList(leaf.DNSNames),
		leaf.NotAfter.UTC().Format("2006-01-02"), hex.EncodeToString(fp[:])[:16])
}

// siteChanges lists the differences between two versions of a site.
func siteChanges(b, h *Site) []Change {
	var cs []Change
	add := func(what, format string, args ...any) {
		cs = append(cs, Change{What: what, Detail: fmt.Sprintf(format, args...)})
	}
	if d := setDiff(b.Hosts, h.Hosts); d != "" {
		add("hosts", "%s", d)
	}
	if b.Default != h.Default {
		add("default", "%v → %v", b.Default, h.Default)
	}
	if d := passthroughChange(b.Passthrough, h.Passthrough); d != "" {
		add("passthrough", "%s", d)
	}
	if string(b.Cert.PEM) != string(h.Cert.PEM) || b.Cert.File != h.Cert.File || b.Issuer != h.Issuer {
		add("cert", "%s → %s", certOrIssuer(b), certOrIssuer(h))
	}
	if b.Key != h.Key {
		add("key", "%s → %s", keyString(b.Key), keyString(h.Key))
	}
	br, hr := map[string]site.Route{}, map[string]site.Route{}
	for _, r := range b.Routes {
		br[r.Path] = r
	}
	for _, r := range h.Routes {
		hr[r.Path] = r
	}
	paths := map[string]bool{}
	for p := range br {
		paths[p] = true
	}
	for p := range hr {
		paths[p] = true
	}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		or, inB := br[p]
		nr, inH := hr[p]
		what := "route " + p
		switch {
		case !inB:
			add(what, "added → %s%s", routeTarget(nr), weightsString(nr))
		case !inH:
			add(what, "removed (was → %s%s)", routeTarget(or), weightsString(or))
		default:
			if d := setDiff(urlStrings(or.Upstreams), urlStrings(nr.Upstreams)); d != "" {
				add(what, "upstreams %s", d)
			}
			if d := weightsChange(or, nr); d != "" {
				add(what, "weights %s", d)
			}
			if d := staticChange(or.Static, nr.Static); d != "" {
				add(what, "static %s", d)
			}
			if or.Balance != nr.Balance || or.StripPrefix != nr.StripPrefix || or.Retries != nr.Retries ||
				or.Timeouts != nr.Timeouts || !equalHC(or.HealthCheck, nr.HealthCheck) || !equalSticky(or.Sticky, nr.Sticky) {
				add(what, "options %s → %s", routeOptions(or), routeOptions(nr))
			}
			for _, d := range encodeChanges(or, nr) {
				add(what, "%s", d)
			}
		}
	}
	if fmt.Sprint(b.Redirects) != fmt.Sprint(h.Redirects) {
		add("redirects", "%s → %s", redirectsString(b.Redirects), redirectsString(h.Redirects))
	}
	if headersString(b.Headers) != headersString(h.Headers) {
		add("headers", "%s → %s", headersString(b.Headers), headersString(h.Headers))
	}
	cs = append(cs, pagesChanges(b, h)...)
	return cs
}

func equalHC(a, b *site.HealthCheck) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// urlStrings returns the URLs as text: as declared, except that a path character a URL
// must escape (a space, "{", a non-ASCII letter) is shown escaped, as it is sent.
func urlStrings(us []*url.URL) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.String()
	}
	return out
}

// setDiff describes what b lacks and has compared with a: "+x -y", or "".
func setDiff(a, b []string) string {
	var parts []string
	for _, x := range b {
		if !slices.Contains(a, x) {
			parts = append(parts, "+"+x)
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			parts = append(parts, "-"+x)
		}
	}
	return strings.Join(parts, " ")
}

func keyString(k KeyRef) string {
	s := k.Mount + "/" + k.Path + "#" + k.Field
	if k.Version > 0 {
		s += fmt.Sprintf("@v%d", k.Version)
	}
	return s
}

func routeOptions(r site.Route) string {
	s := fmt.Sprintf("{balance %s, retries %d, strip_prefix %v, timeouts %v/%v/%v/%v", r.Balance, r.Retries, r.StripPrefix,
		r.Timeouts.Connect, r.Timeouts.Response, r.Timeouts.Idle, r.Timeouts.Body)
	if hc := r.HealthCheck; hc != nil {
		s += fmt.Sprintf(", health_check %s every %v", hc.Path, hc.Interval)
	}
	s += stickyString(r.Sticky)
	return s + "}"
}

func redirectsString(rs []site.Redirect) string {
	if len(rs) == 0 {
		return "none"
	}
	var parts []string
	for _, r := range rs {
		from := "all hosts"
		if len(r.Hosts) > 0 {
			from = strings.Join(r.Hosts, ",")
		}
		parts = append(parts, fmt.Sprintf("%s%s → %s (%d)", from, r.Path, r.To, r.Status))
	}
	return strings.Join(parts, "; ")
}

func headersString(h site.Headers) string {
	hsts := "hsts off"
	if h.HSTS != nil {
		hsts = fmt.Sprintf("hsts %s", formatDuration(h.HSTS.MaxAge))
		if h.HSTS.IncludeSubdomains {
			hsts += " +subdomains"
		}
		if h.HSTS.Preload {
			hsts += " +preload"
		}
	}
	var set []string
	for k, v := range h.Set {
		set = append(set, k+": "+v)
	}
	sort.Strings(set)
	s := hsts
	if len(set) > 0 {
		s += ", set " + strings.Join(set, "; ")
	}
	if len(h.Remove) > 0 {
		s += ", remove " + strings.Join(h.Remove, ", ")
	}
	return s
}
