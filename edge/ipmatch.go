package edge

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// ipSet is a set of networks looked up by prefix length: one map lookup per distinct
// length among its networks (at most 33 for IPv4, 129 for IPv6), whatever their number.
type ipSet struct {
	v4, v6 []bitsSet
}

// bitsSet holds the networks of one prefix length, by their masked address.
type bitsSet struct {
	bits int
	nets map[netip.Addr]struct{}
}

// newIPSet returns the set of nets (an IPv4-mapped network is its IPv4 network), or nil
// for none.
func newIPSet(nets []netip.Prefix) *ipSet {
	if len(nets) == 0 {
		return nil
	}
	s := &ipSet{}
	for _, p := range nets {
		p = normalizePrefix(p)
		sets := &s.v6
		if p.Addr().Is4() {
			sets = &s.v4
		}
		i := 0
		for i < len(*sets) && (*sets)[i].bits != p.Bits() {
			i++
		}
		if i == len(*sets) {
			*sets = append(*sets, bitsSet{bits: p.Bits(), nets: make(map[netip.Addr]struct{})})
		}
		(*sets)[i].nets[p.Addr()] = struct{}{}
	}
	return s
}

// normalizePrefix masks p and turns an IPv4-mapped IPv6 network into its IPv4 network.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// contains reports whether a (unmapped) is in one of the set's networks.
func (s *ipSet) contains(a netip.Addr) bool {
	if s == nil {
		return false
	}
	sets := s.v6
	if a.Is4() {
		sets = s.v4
	}
	for i := range sets {
		p, err := a.Prefix(sets[i].bits)
		if err != nil {
			continue
		}
		if _, ok := sets[i].nets[p.Addr()]; ok {
			return true
		}
	}
	return false
}

// ipRule is a prepared site.Access: deny wins, then a non-empty allow list must match.
type ipRule struct {
	allow, deny *ipSet
}

// newIPRule prepares a, or returns nil if it lets everyone through.
func newIPRule(a *site.Access) *ipRule {
	if a.Empty() {
		return nil
	}
	return &ipRule{allow: newIPSet(a.Allow), deny: newIPSet(a.Deny)}
}

// permits reports whether the client address a may pass; an invalid address (one the
// edge could not read) passes no rule.
func (r *ipRule) permits(a netip.Addr) bool {
	if r == nil {
		return true
	}
	if !a.IsValid() || r.deny.contains(a) {
		return false
	}
	return r.allow == nil || r.allow.contains(a)
}

// clientIP returns the address rules apply to: the request's peer (after the PROXY
// protocol, the client), unmapped; or, when the peer is one of the trusted proxies
// (Options.Proxy.TrustedProxies), the last address in X-Forwarded-For that is not a
// trusted proxy (the first hop a trusted proxy saw). The zero Addr if none can be read.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	a := ap.Addr().Unmap().WithZone("")
	if len(trusted) == 0 || !prefixesContain(trusted, a) {
		return a
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		v := xff[i]
		for v != "" {
			var f string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				f, v = v[j+1:], v[:j]
			} else {
				f, v = v, ""
			}
			h, err := netip.ParseAddr(strings.TrimSpace(f))
			if err != nil {
				return a // unreadable: the trusted peer is what is known
			}
			a = h.Unmap().WithZone("")
			if !prefixesContain(trusted, a) {
				return a
			}
		}
	}
	return a
}
