package schema

import (
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
)

// hostProfile converts Unicode host names to their ASCII (punycode) form the way browsers
// look them up: case folded, NFC, no STD3-invalid characters, DNS lengths checked.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.StrictDomainName(true),
	idna.ValidateLabels(true),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

// normalizeHost returns the canonical form of a declared host name: lower case, IDNA ASCII,
// no trailing dot. "*.rest" wildcards are kept; the "*" must be the whole first label and at
// least two labels must follow it. IP addresses are refused (SNI never carries them). The
// error is a sentence fragment for "host %q ...".
func normalizeHost(raw string) (string, error) {
	h := strings.TrimSuffix(raw, ".")
	if h == "" {
		return "", fmt.Errorf("is empty; want a name such as \"example.com\"")
	}
	wild := false
	if strings.HasPrefix(h, "*.") {
		wild, h = true, h[2:]
	}
	if strings.Contains(h, "*") {
		return "", fmt.Errorf("has a \"*\" that is not the whole first label; a wildcard is written \"*.example.com\" and covers exactly one label")
	}
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return "", fmt.Errorf("is an IP address; TLS clients send only DNS names in SNI, so declare a name")
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" {
			return "", fmt.Errorf("has an empty label (two dots in a row, or a leading dot)")
		}
		if strings.ContainsAny(l, "_ :/@") {
			return "", fmt.Errorf("contains %q; a host name has only letters, digits, hyphens and dots", l)
		}
	}
	a, err := hostProfile.ToASCII(h)
	if err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "idna: ")
		return "", fmt.Errorf("is not a valid DNS name (%s)", msg)
	}
	a = strings.ToLower(a)
	// Check again after normalisation: full-width digits and dots ("１２７．０．０．１") map
	// to an address, and other characters to "*", ":" or "/".
	if _, err := netip.ParseAddr(a); err == nil {
		return "", &addrLikeError{fmt.Sprintf("is the IP address %s once normalised; where a name is needed declare a DNS name, where an address is allowed write it in ASCII digits", a)}
	}
	if strings.ContainsAny(a, "*_ :/@[]") {
		return "", fmt.Errorf("is %q once normalised, which is not a host name (only letters, digits, hyphens and dots)", a)
	}
	if endsInNumber(a) {
		return "", &addrLikeError{"ends in a numeric label, so browsers read it as an IPv4 address, not a name"}
	}
	if wild && !strings.Contains(a, ".") {
		return "", fmt.Errorf("is a wildcard for a whole top-level domain; a wildcard needs at least two labels after \"*.\", e.g. \"*.example.com\"")
	}
	if wild {
		return "*." + a, nil
	}
	return a, nil
}

// addrLikeError is a host that is (or that clients read as) an IP address once normalised.
type addrLikeError struct{ msg string }

func (e *addrLikeError) Error() string { return e.msg }

// endsInNumber reports whether the last label of host is a number (decimal, or hex with
// 0x) as the WHATWG URL standard defines it: browsers then parse the whole host as an IPv4
// address ("1.2.3" is 1.2.0.3, "example.0x10" is refused).
func endsInNumber(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if strings.HasPrefix(last, "0x") {
		return strings.Trim(last[2:], "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// wildcardParent returns "*.rest" for "label.rest", or "" when host has no parent that a
// wildcard could cover (or is itself a wildcard).
func wildcardParent(host string) string {
	if strings.HasPrefix(host, "*.") {
		return ""
	}
	i := strings.IndexByte(host, '.')
	if i < 0 || !strings.Contains(host[i+1:], ".") {
		return ""
	}
	return "*" + host[i:]
}

// nameCovers reports whether a certificate name (SAN, lower case) covers a declared host:
// exact match, or a "*.rest" SAN covering "label.rest" (one label, not itself "*"). A
// wildcard host is covered only by the same wildcard SAN.
func nameCovers(san, host string) bool {
	san = strings.ToLower(strings.TrimSuffix(san, "."))
	if san == host {
		return true
	}
	if !strings.HasPrefix(san, "*.") || strings.HasPrefix(host, "*.") {
		return false
	}
	return wildcardParent(host) == san
}

// hostMatches reports whether pattern (a declared host, maybe "*.x") matches the concrete or
// wildcard host h.
func hostMatches(pattern, h string) bool {
	if pattern == h {
		return true
	}
	return strings.HasPrefix(pattern, "*.") && wildcardParent(h) == pattern
}
