package schema

import (
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// accessDecl is what a site or a route declares about who may reach it and how much:
// access (IP allow and deny lists, validated as written), forbidden_paths (sites only)
// and rate_limit.
type accessDecl struct {
	Allow, Deny []strPos       `json:",omitzero"`
	Forbidden   []strPos       `json:",omitzero"`
	Limit       *rateLimitDecl `json:",omitzero"`
}

// rateLimitDecl is a declared rate limit, zero fields unset.
type rateLimitDecl struct {
	P                      pos           `json:",omitzero"`
	Requests, Burst        int           `json:",omitzero"`
	Per                    time.Duration `json:",omitzero"`
	Header                 string        `json:",omitzero"`
	IPv4, IPv6, MaxClients int           `json:",omitzero"`
}

// access reads access, rate_limit and (if forbidden) forbidden_paths of the site or
// route v written at at.
func (x *extractor) access(v val, at fieldPath, forbidden bool) accessDecl {
	var d accessDecl
	if av := lookup(v, "access"); av.Exists() {
		aat := at.field("access")
		d.Allow = x.networks(av, aat, "allow")
		d.Deny = x.networks(av, aat, "deny")
		if len(strList(av, "allow")) == 0 && len(strList(av, "deny")) == 0 {
			x.warnf(aat, "access has neither allow nor deny entries, so it lets every address through; remove it or list networks")
		}
	}
	if forbidden {
		d.Forbidden = x.forbiddenPaths(v, at)
	}
	d.Limit = x.rateLimit(v, at)
	return d
}

// networks reads the allow or deny list (field) of the access rule av written at at.
func (x *extractor) networks(av val, at fieldPath, field string) []strPos {
	var out []strPos
	seen := map[string]int{} // normalised -> index in the list
	list := strList(av, field)
	if len(list) > site.MaxAccessNetworks {
		x.errorf(at.field(field), "%s: %d networks; at most %d", at.field(field), len(list), site.MaxAccessNetworks)
		return nil
	}
	for i, s := range list {
		eat := at.field(field).index(i)
		p, err := site.ParseNetwork(s)
		if err != nil {
			x.errorf(eat, "%s: %q %v", at.field(field), clip(s), err)
			continue
		}
		if j, dup := seen[p.String()]; dup {
			x.errorf(eat, "%s: %q is the same network as %s[%d] (%s); list it once", at.field(field), clip(s), field, j, p)
			continue
		}
		seen[p.String()] = i
		out = append(out, strPos{p.String(), x.pos(eat)})
	}
	return out
}

// forbiddenPaths reads the site's forbidden path patterns.
func (x *extractor) forbiddenPaths(v val, at fieldPath) []strPos {
	list := strList(v, "forbidden_paths")
	fat := at.field("forbidden_paths")
	if len(list) > site.MaxForbiddenPaths {
		x.errorf(fat, "forbidden_paths: %d patterns; at most %d", len(list), site.MaxForbiddenPaths)
		return nil
	}
	var out []strPos
	seen := map[string]bool{}
	for i, p := range list {
		eat := fat.index(i)
		if err := site.CheckForbiddenPath(p); err != nil {
			x.errorf(eat, "forbidden_paths: %q: %v", clip(p), err)
			continue
		}
		if seen[lowerASCII(p)] {
			x.errorf(eat, "forbidden_paths: %q is listed twice (patterns ignore case)", p)
			continue
		}
		seen[lowerASCII(p)] = true
		out = append(out, strPos{p, x.pos(eat)})
	}
	return out
}

// rateLimit reads the rate_limit of the site or route v written at at; nil if unset.
func (x *extractor) rateLimit(v val, at fieldPath) *rateLimitDecl {
	lv := lookup(v, "rate_limit")
	if !lv.Exists() {
		return nil
	}
	lat := at.field("rate_limit")
	d := &rateLimitDecl{P: x.pos(lat)}
	d.Requests, _ = x.integer(lv, lat, "requests", 1, 1e9)
	d.Burst, _ = x.integer(lv, lat, "burst", 1, 1e9)
	d.IPv4, _ = x.integer(lv, lat, "ipv4_prefix", 1, 32)
	d.IPv6, _ = x.integer(lv, lat, "ipv6_prefix", 1, 128)
	d.MaxClients, _ = x.integer(lv, lat, "max_clients", 1, 1e7)
	if h, ok := str(lv, "header"); ok {
		d.Header = http.CanonicalHeaderKey(h)
	}
	if p := x.duration(lv, lat, "per"); p != nil {
		d.Per = *p
		if d.Per < time.Millisecond || d.Per > 24*time.Hour {
			x.errorf(lat.field("per"), "rate_limit per %v; want from 1ms to 24h", d.Per)
		}
	}
	return d
}

// clip shortens a hostile value for a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

// lowerASCII returns s with ASCII letters in lower case.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// apply sets a site's or route's IP rule and rate limit from d; the networks were checked on
// extraction.
func (d accessDecl) apply(a **site.Access, limit **site.RateLimit) {
	if len(d.Allow) > 0 || len(d.Deny) > 0 {
		*a = &site.Access{Allow: parsedNetworks(d.Allow), Deny: parsedNetworks(d.Deny)}
	}
	if l := d.Limit; l != nil {
		per := l.Per
		if per == 0 {
			per = time.Second
		}
		*limit = &site.RateLimit{Requests: l.Requests, Per: per, Burst: l.Burst, Header: l.Header,
			IPv4Prefix: l.IPv4, IPv6Prefix: l.IPv6, MaxClients: l.MaxClients}
	}
}

// parsedNetworks parses networks checked on extraction.
func parsedNetworks(list []strPos) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(list))
	for _, n := range list {
		if p, err := site.ParseNetwork(n.S); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// forbiddenList returns the patterns as written.
func (d accessDecl) forbiddenList() []string {
	var out []string
	for _, p := range d.Forbidden {
		out = append(out, p.S)
	}
	return out
}
