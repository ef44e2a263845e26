package site

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Access is an IP rule: which client addresses may reach a site or a route. A request is
// refused (403) if its client address is in Deny, or if Allow is not empty and the
// address is in none of its networks: deny wins over allow, and the order of the lists
// does not matter. A route's rule applies after (not instead of) its site's: a request
// must pass both. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are matched as the IPv4
// address, and so are IPv4-mapped networks.
type Access struct {
	// Allow lists the networks that may reach it; empty means every address.
	Allow []netip.Prefix
	// Deny lists networks refused, whatever Allow says.
	Deny []netip.Prefix
}

// Empty reports whether the rule lets every address through.
func (a *Access) Empty() bool { return a == nil || (len(a.Allow) == 0 && len(a.Deny) == 0) }

// Defaults of a RateLimit's zero fields.
const (
	// DefaultRateLimitIPv4Prefix keys IPv4 clients by their whole address.
	DefaultRateLimitIPv4Prefix = 32
	// DefaultRateLimitIPv6Prefix keys IPv6 clients by their /64: one subscriber or host
	// usually holds a whole /64, so a client cannot dodge its limit by changing the lower
	// bits of its address.
	DefaultRateLimitIPv6Prefix = 64
	// DefaultRateLimitMaxClients is how many clients' buckets one limit keeps at most.
	DefaultRateLimitMaxClients = 10000
)

// RateLimit is a token bucket per client: Requests requests per Per on average, with
// bursts of up to Burst requests; a request finding the bucket empty gets 429 Too Many
// Requests with Retry-After. Limits are kept by each edge server for itself.
type RateLimit struct {
	// Requests and Per are the sustained rate: Requests tokens are added every Per.
	// Requests is at least 1; Per is positive.
	Requests int
	Per      time.Duration
	// Burst is the bucket's size: how many requests a client with a full bucket may make
	// at once. Zero means Requests.
	Burst int
	// Header, if set, keys clients by this request header's value instead of their
	// address (an API key, say); a request without the header is keyed by its address.
	Header string
	// IPv4Prefix and IPv6Prefix are the prefix lengths client addresses are aggregated
	// to. Zero means 32 and 64.
	IPv4Prefix, IPv6Prefix int
	// MaxClients bounds the clients whose buckets are kept (memory): when the table is
	// full, the bucket seen least recently is dropped. Zero means 10,000.
	MaxClients int
}

// WithDefaults returns l with its zero fields replaced by their defaults.
func (l RateLimit) WithDefaults() RateLimit {
	if l.Burst == 0 {
		l.Burst = l.Requests
	}
	if l.IPv4Prefix == 0 {
		l.IPv4Prefix = DefaultRateLimitIPv4Prefix
	}
	if l.IPv6Prefix == 0 {
		l.IPv6Prefix = DefaultRateLimitIPv6Prefix
	}
	if l.MaxClients == 0 {
		l.MaxClients = DefaultRateLimitMaxClients
	}
	return l
}

// Forbidden path patterns (Site.ForbiddenPaths) are matched against the request's
// cleaned, percent-decoded path, ignoring ASCII case. "*" stands for any run of
// characters, "/" included; every other character is itself. A pattern ending in "/*"
// also matches the path without it: "/.git/*" forbids "/.git" and everything under it;
// "*.bak" forbids every path ending in ".bak". A request whose path matches is answered
// 404 without reaching any route.
const (
	// MaxForbiddenPath is the longest forbidden path pattern, in bytes.
	MaxForbiddenPath = 256
	// MaxForbiddenPaths is how many patterns a site may have.
	MaxForbiddenPaths = 256
)

// CheckForbiddenPath checks a forbidden path pattern: it begins with "/" or "*", holds
// no space or control character and is at most MaxForbiddenPath bytes long.
func CheckForbiddenPath(p string) error {
	if p == "" || (p[0] != '/' && p[0] != '*') {
		return errors.New(`want a pattern beginning with "/" or "*"`)
	}
	if len(p) > MaxForbiddenPath {
		return fmt.Errorf("pattern of %d bytes; at most %d", len(p), MaxForbiddenPath)
	}
	for i := 0; i < len(p); i++ {
		if p[i] <= ' ' || p[i] == 0x7f {
			return errors.New("pattern holds a space or control character; percent-decoded paths are matched, so write the character itself, not %XX")
		}
	}
	return nil
}

// MaxAccessNetworks is how many networks an allow or a deny list may have.
const MaxAccessNetworks = 4096

// ParseNetwork parses an IP rule's entry: a CIDR network ("10.0.0.0/8", "2001:db8::/32")
// or an address standing for itself (/32, /128). An IPv4-mapped IPv6 network is returned
// as its IPv4 network. A network with host bits set is refused (it is most likely a
// mistake), and so is a zone.
func ParseNetwork(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, errors.New("is not an IP address or CIDR network")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errors.New("is not an IP address or CIDR network")
	}
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("has host bits set; did you mean %s?", p.Masked())
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}
