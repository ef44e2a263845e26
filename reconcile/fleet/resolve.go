package fleet

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
)

// Target is one agent's admin listener to ask.
type Target struct {
	// Addr is how the agent is shown: the address as written ("host:port",
	// "https://host:port"), or for one found through DNS its IP address and port.
	Addr string
	// Name is the DNS name of a dns: address Addr was found under; empty otherwise.
	Name string
	// URL is the base URL of the admin listener ("http://host:port", "https://host:port").
	URL string
	// ServerName is the name the TLS certificate must be valid for: the dns: name, else
	// URL's host.
	ServerName string
	// Err is set when a dns: name could not be resolved; Addr then is the address as written.
	Err error
}

// Resolve turns addrs into targets, looking up every A and AAAA record of the dns: ones with
// r (nil: net.DefaultResolver). A name that cannot be resolved is one target with Err set.
// Targets with the same URL are asked once.
func Resolve(ctx context.Context, r *net.Resolver, addrs []Addr) []Target {
	if r == nil {
		r = net.DefaultResolver
	}
	var ts []Target
	seen := map[string]bool{}
	add := func(t Target) {
		if t.Err == nil && seen[t.URL] {
			return
		}
		seen[t.URL] = true
		ts = append(ts, t)
	}
	for _, a := range addrs {
		if !a.DNS {
			add(Target{Addr: strings.TrimPrefix(a.String(), "http://"), URL: a.url(a.Host), ServerName: a.Host})
			continue
		}
		ips, err := r.LookupIPAddr(ctx, a.Host)
		if err == nil && len(ips) == 0 {
			err = fmt.Errorf("no address")
		}
		if err != nil {
			add(Target{Addr: a.String(), Name: a.Host, Err: fmt.Errorf("fleet: resolve %s: %w", a.Host, err)})
			continue
		}
		strs := make([]string, len(ips))
		for i, ip := range ips {
			strs[i] = ip.String()
		}
		slices.Sort(strs)
		for _, ip := range strs {
			u := a.url(ip)
			add(Target{Addr: strings.TrimPrefix(u, "http://"), Name: a.Host, URL: u, ServerName: a.Host})
		}
	}
	return ts
}

// url is a's base URL with host in place of a.Host.
func (a Addr) url(host string) string {
	scheme := "http://"
	if a.TLS {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, a.Port)
}

// DNSServerEnv names the environment variable that, when set to host:port, sends the DNS
// lookups of dns: addresses to that server instead of the system's resolvers. It exists for
// tests (a DNS server of their own on a loopback port); operators configure the system's.
const DNSServerEnv = "EDGE_DNS_SERVER"

// ResolverFromEnv returns a resolver asking the server $EDGE_DNS_SERVER names, or nil (the
// system's resolvers) when it is unset.
func ResolverFromEnv() *net.Resolver {
	server := os.Getenv(DNSServerEnv)
	if server == "" {
		return nil
	}
	return ServerResolver(server)
}

// ServerResolver returns a resolver sending every query to the DNS server at addr
// (host:port), over the network the Go resolver asks for (UDP, TCP when truncated).
func ServerResolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return new(net.Dialer).DialContext(ctx, network, addr)
	}}
}
