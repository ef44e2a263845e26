package schema

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// parseUpstream checks an upstream base URL: http or https, a host (name or IP address) and
// an optional port and path; no user, query or fragment. It returns the host (IP address
// text or lower-case name). The error is a sentence fragment for "upstream %q ...".
func parseUpstream(raw string) (host string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("is not a URL (%s); want e.g. \"http://127.0.0.1:3001\"", strings.TrimPrefix(cleanURLErr(err), raw+": "))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("has scheme %q; want http or https, e.g. \"http://127.0.0.1:3001\"", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return "", fmt.Errorf("has no host; want e.g. \"http://127.0.0.1:3001\"")
	}
	if u.User != nil {
		return "", fmt.Errorf("carries a user name or password; credentials do not belong in the config repo")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return "", fmt.Errorf("has a query or fragment; an upstream is a base URL (scheme, host, port and optional path)")
	}
	host = u.Hostname()
	if host == "" {
		return "", fmt.Errorf("has no host; want e.g. \"http://127.0.0.1:3001\"")
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return "", fmt.Errorf("has a \".\" or \"..\" segment in its path; write the base path the app serves, e.g. \"http://127.0.0.1:3001/v1\"")
		}
	}
	if !validPort(u) {
		return "", fmt.Errorf("has port %q; want a number from 1 to 65535", u.Port())
	}
	if u.Port() == "" && strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("has an empty port; write the port number or leave out the colon")
	}
	return upstreamHost(host)
}

// upstreamHost checks the host of an upstream (an IP address without zone, not the
// unspecified one, or a host name) and returns it as parseUpstream does.
func upstreamHost(host string) (string, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", fmt.Errorf("has an IPv6 zone; use an address without %%zone")
		}
		if a.IsUnspecified() {
			return "", fmt.Errorf("has the unspecified address %s; connect to a real address such as 127.0.0.1", a)
		}
		return a.Unmap().String(), nil
	}
	if strings.ContainsAny(host, "[]") {
		return "", fmt.Errorf("has an invalid IPv6 address %q", host)
	}
	n, err := normalizeHost(host)
	var ae *addrLikeError
	if errors.As(err, &ae) {
		return "", fmt.Errorf("has host %q, which %v", host, err)
	}
	if err != nil || strings.HasPrefix(n, "*.") {
		return "", fmt.Errorf("has host %q, which is not a valid host name or IP address", host)
	}
	return n, nil
}

// parseTCPUpstream checks a passthrough upstream: a TCP address "host:port" (an IPv6
// address in brackets), no scheme, path, user, query or fragment, port 1 to 65535. It
// returns the host as parseUpstream does. The error is a fragment for "upstream %q ...".
func parseTCPUpstream(raw string) (string, error) {
	const want = `a passthrough upstream is a TCP address "host:port", e.g. "127.0.0.1:8443"`
	switch {
	case strings.Contains(raw, "://"):
		return "", fmt.Errorf("has a scheme; %s", want)
	case strings.ContainsAny(raw, "/?#"):
		return "", fmt.Errorf("has a path, query or fragment; %s", want)
	case strings.Contains(raw, "@"):
		return "", fmt.Errorf("carries a user name; %s", want)
	}
	host, port, err := net.SplitHostPort(raw)
	if err != nil {
		var ae *net.AddrError
		switch {
		case errors.As(err, &ae) && ae.Err == "missing port in address":
			return "", fmt.Errorf("has no port; %s", want)
		case errors.As(err, &ae) && ae.Err == "too many colons in address":
			return "", fmt.Errorf("has an IPv6 address without brackets; write it as \"[::1]:8443\"")
		}
		return "", fmt.Errorf("is not \"host:port\"; %s", want)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' {
		return "", fmt.Errorf("has port %q; want a number from 1 to 65535", port)
	}
	if host == "" {
		return "", fmt.Errorf("has no host; %s", want)
	}
	if strings.HasPrefix(raw, "[") {
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() || a.Is4In6() {
			return "", fmt.Errorf("has %q in brackets, which is not an IPv6 address", host)
		}
	}
	return upstreamHost(host)
}

// validPort reports whether u has no port or a port from 1 to 65535 (strconv refuses
// overflowing digits, so no port wraps around to a valid one).
func validPort(u *url.URL) bool {
	p := u.Port()
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

func cleanURLErr(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

// allowEntry is one entry of policy.allowed_upstreams.
type allowEntry struct {
	Prefix netip.Prefix // valid for networks and addresses
	Host   string       // lower-case name or "*.suffix" otherwise
}

// parseAllowEntry parses "10.0.0.0/8", "127.0.0.1", "::1", "app.internal" or "*.internal".
func parseAllowEntry(s string) (allowEntry, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return allowEntry{Prefix: p.Masked()}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return allowEntry{Prefix: netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())}, nil
	}
	if strings.Contains(s, "/") {
		return allowEntry{}, fmt.Errorf("is not a valid CIDR network; want e.g. \"10.0.0.0/8\" or \"127.0.0.1/32\"")
	}
	if _, _, err := net.SplitHostPort(s); err == nil {
		return allowEntry{}, fmt.Errorf("has a port; list networks, addresses or host names without ports")
	}
	h, err := normalizeHost(s)
	if err != nil {
		if !strings.Contains(s, ".") && s != "" {
			// single-label names such as "localhost" are fine for upstreams
			if h2, err2 := hostProfile.ToASCII(s); err2 == nil && !strings.ContainsAny(h2, ".:") && !endsInNumber(h2) {
				return allowEntry{Host: strings.ToLower(h2)}, nil
			}
		}
		return allowEntry{}, fmt.Errorf("is neither a CIDR network, an IP address nor a host name: host %s", err)
	}
	return allowEntry{Host: h}, nil
}

// allowed reports whether an upstream host (from parseUpstream) is in one of entries.
func allowed(entries []allowEntry, host string) bool {
	if len(entries) == 0 {
		return true
	}
	a, err := netip.ParseAddr(host)
	for _, e := range entries {
		if err == nil {
			if e.Prefix.IsValid() && e.Prefix.Contains(a) {
				return true
			}
			continue
		}
		if e.Host != "" && hostMatches(e.Host, host) {
			return true
		}
	}
	return false
}
