package proxy

import (
	"crypto/sha256"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// config is one route as the proxy serves it: the route with its defaults applied
// (site.Route.WithDefaults) and the name that labels it in log lines.
type config struct {
	// name labels the route in log lines, e.g. "shop /api". May be empty.
	name string
	site.Route
}

// newConfig validates the route r, named name, and returns it with its defaults applied.
// r is not changed.
func newConfig(name string, r *site.Route) (config, error) {
	c := config{name: name, Route: r.WithDefaults()}
	if !c.Balance.Valid() {
		return c, fmt.Errorf("proxy: route %q: unknown balance %q; want %q or %q", c.label(), c.Balance, site.RoundRobin, site.LeastConn)
	}
	if len(c.Upstreams) == 0 {
		return c, fmt.Errorf("proxy: route %q: no upstreams", c.label())
	}
	for i, u := range c.Upstreams {
		if u == nil {
			return c, fmt.Errorf("proxy: route %q: upstream %d is nil", c.label(), i)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return c, fmt.Errorf("proxy: route %q: upstream %d: scheme %q; want http or https", c.label(), i, u.Scheme)
		}
		if u.Host == "" {
			return c, fmt.Errorf("proxy: route %q: upstream %d: no host", c.label(), i)
		}
	}
	if err := c.checkWeights(); err != nil {
		return c, err
	}
	if err := c.checkSticky(); err != nil {
		return c, err
	}
	if c.StripPrefix && !strings.HasPrefix(c.Path, "/") {
		return c, fmt.Errorf("proxy: route %q: strip_prefix needs a path beginning with \"/\"", c.label())
	}
	if c.Timeouts.Negative() || c.Retries < 0 {
		return c, fmt.Errorf("proxy: route %q: negative timeout or retries", c.label())
	}
	if hc := c.HealthCheck; hc != nil {
		if !strings.HasPrefix(hc.Path, "/") {
			return c, fmt.Errorf("proxy: route %q: health check path %q does not begin with \"/\"", c.label(), hc.Path)
		}
		if hc.Interval < 0 || hc.Timeout < 0 {
			return c, fmt.Errorf("proxy: route %q: negative health check interval or timeout", c.label())
		}
	}
	return c, nil
}

func (c *config) label() string {
	if c.name != "" {
		return c.name
	}
	return c.Path
}

// handlerKey is the SHA-256 of a config's key: the Manager's handlers are found by it, so
// that each one costs 32 bytes of key, not the key's text (about 200 bytes a route; at
// 10,000 sites, a string per route kept for as long as the route is served).
type handlerKey [sha256.Size]byte

// key identifies a route configuration: equal keys get the same Handler. c must have its
// defaults applied.
func (c *config) key() string {
	var b strings.Builder
	b.Grow(64 + 32*len(c.Upstreams))
	b.WriteString(c.name)
	b.WriteByte(0)
	b.WriteString(c.Path)
	b.WriteByte(0)
	b.WriteString(string(c.Balance))
	b.WriteByte(0)
	if c.StripPrefix {
		b.WriteByte('s')
	}
	b.WriteString(strconv.Itoa(c.Retries))
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(int64(c.Timeouts.Body), 36))
	if s := c.Sticky; s != nil {
		fmt.Fprintf(&b, "|sticky %q %q %d %s %v", s.Cookie, s.Path, s.MaxAge, s.SameSite, s.NoHTTPOnly)
	}
	for i, u := range c.Upstreams {
		b.WriteByte(0)
		b.WriteString(u.String())
		b.WriteByte(0)
		b.WriteString(upstreamKey(u, c))
		if c.Weights != nil {
			b.WriteString("|w")
			b.WriteString(strconv.Itoa(c.Weights[i]))
		}
	}
	return b.String()
}

// upstreamKey identifies the shared state of one upstream address: routes whose upstream
// has the same scheme and host and the same transport and health settings share a
// connection pool, ejection state, in-flight counter and health check.
func upstreamKey(u *url.URL, c *config) string {
	var b strings.Builder
	b.Grow(80)
	b.WriteString(u.Scheme)
	b.WriteString("://")
	b.WriteString(u.Host)
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(int64(c.Timeouts.Connect), 36))
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(int64(c.Timeouts.Response), 36))
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(int64(c.Timeouts.Idle), 36))
	if hc := c.HealthCheck; hc != nil {
		b.WriteByte('|')
		b.WriteString(hc.Path)
		b.WriteByte('|')
		b.WriteString(strconv.FormatInt(int64(hc.Interval), 36))
		b.WriteByte('|')
		b.WriteString(strconv.FormatInt(int64(hc.Timeout), 36))
		b.WriteByte('|')
		b.WriteString(strconv.Itoa(hc.ExpectStatus))
	}
	return b.String()
}
