package proxy

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Balance policies accepted in Config.Balance.
const (
	RoundRobin = "round_robin"
	LeastConn  = "least_conn"
)

// Defaults applied to zero values of Config and HealthCheck.
const (
	DefaultConnectTimeout  = 5 * time.Second
	DefaultResponseTimeout = 60 * time.Second
	DefaultIdleTimeout     = 90 * time.Second
	DefaultBodyTimeout     = 60 * time.Second
	DefaultCheckInterval   = 10 * time.Second
	DefaultCheckTimeout    = 2 * time.Second
)

// Config is one route as the proxy serves it. Its fields mirror edge.Route one to one (same
// names, same zero values), plus Name for log lines.
type Config struct {
	// Name labels the route in log lines, e.g. "shop /api". May be empty.
	Name string
	// Path is the route's path prefix, beginning with "/". Only used by StripPrefix.
	Path string
	// Upstreams are base URLs (scheme http or https, host:port, optional path). At least one.
	Upstreams []*url.URL
	// Balance is the load-balancing policy: "round_robin" (the zero value means this) or
	// "least_conn".
	Balance string
	// StripPrefix removes Path from the request path before it is proxied.
	StripPrefix bool
	// ConnectTimeout bounds dialing an upstream. Zero means 5s.
	ConnectTimeout time.Duration
	// ResponseTimeout bounds waiting for an upstream's response headers. Zero means 60s.
	// Streaming bodies (SSE, WebSocket) are not bounded by it.
	ResponseTimeout time.Duration
	// IdleTimeout is how long an idle keep-alive connection to an upstream is kept. Zero
	// means 90s.
	IdleTimeout time.Duration
	// BodyTimeout is the request-body idle timeout: when no byte of a request body arrives
	// for this long, the upstream request is cancelled and the client gets 408 (the
	// upstream is not blamed), as nginx's client_body_timeout. Zero means 60s.
	BodyTimeout time.Duration
	// Retries is how many other upstreams a request is retried on after a connection
	// failure (see the package doc for when retrying is safe). Zero means no retry.
	Retries int
	// HealthCheck enables active health checks. Nil means passive checks only.
	HealthCheck *HealthCheck
}

// HealthCheck describes an active health check of every upstream of a route.
type HealthCheck struct {
	// Path is requested with GET on each upstream, e.g. "/healthz". It is an absolute path
	// on the upstream host. Empty means "/".
	Path string
	// Interval between checks. Zero means 10s.
	Interval time.Duration
	// Timeout of one check. Zero means 2s.
	Timeout time.Duration
	// ExpectStatus is the status that means healthy. Zero means any 2xx or 3xx.
	ExpectStatus int
}

// withDefaults returns c with zero values replaced by defaults and validates it.
func (c Config) withDefaults() (Config, error) {
	if c.Balance == "" {
		c.Balance = RoundRobin
	}
	if c.Balance != RoundRobin && c.Balance != LeastConn {
		return c, fmt.Errorf("proxy: route %q: unknown balance %q; want %q or %q", c.label(), c.Balance, RoundRobin, LeastConn)
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
	if c.StripPrefix && !strings.HasPrefix(c.Path, "/") {
		return c, fmt.Errorf("proxy: route %q: strip_prefix needs a path beginning with \"/\"", c.label())
	}
	if c.ConnectTimeout < 0 || c.ResponseTimeout < 0 || c.IdleTimeout < 0 || c.BodyTimeout < 0 || c.Retries < 0 {
		return c, fmt.Errorf("proxy: route %q: negative timeout or retries", c.label())
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.ResponseTimeout == 0 {
		c.ResponseTimeout = DefaultResponseTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.BodyTimeout == 0 {
		c.BodyTimeout = DefaultBodyTimeout
	}
	if c.HealthCheck != nil {
		hc := *c.HealthCheck
		if hc.Path == "" {
			hc.Path = "/"
		}
		if !strings.HasPrefix(hc.Path, "/") {
			return c, fmt.Errorf("proxy: route %q: health check path %q does not begin with \"/\"", c.label(), hc.Path)
		}
		if hc.Interval < 0 || hc.Timeout < 0 {
			return c, fmt.Errorf("proxy: route %q: negative health check interval or timeout", c.label())
		}
		if hc.Interval == 0 {
			hc.Interval = DefaultCheckInterval
		}
		if hc.Timeout == 0 {
			hc.Timeout = DefaultCheckTimeout
		}
		c.HealthCheck = &hc
	}
	return c, nil
}

func (c Config) label() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Path
}

// key identifies a route configuration: equal keys get the same Handler. c must have its
// defaults applied.
func (c Config) key() string {
	var b strings.Builder
	b.Grow(64 + 32*len(c.Upstreams))
	b.WriteString(c.Name)
	b.WriteByte(0)
	b.WriteString(c.Path)
	b.WriteByte(0)
	b.WriteString(c.Balance)
	b.WriteByte(0)
	if c.StripPrefix {
		b.WriteByte('s')
	}
	b.WriteString(strconv.Itoa(c.Retries))
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(int64(c.BodyTimeout), 36))
	for _, u := range c.Upstreams {
		b.WriteByte(0)
		b.WriteString(u.String())
		b.WriteByte(0)
		b.WriteString(upstreamKey(u, &c))
	}
	return b.String()
}

// upstreamKey identifies the shared state of one upstream address: routes whose upstream
// has the same scheme and host and the same transport and health settings share a
// connection pool, ejection state, in-flight counter and health check.
func upstreamKey(u *url.URL, c *Config) string {
	var b strings.Builder
	b.Grow(80)
	b.WriteString(u.Scheme)
	b.WriteString("://")
	b.WriteString(u.Host)
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(int64(c.ConnectTimeout), 36))
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(int64(c.ResponseTimeout), 36))
	b.WriteByte('|')
	b.WriteString(strconv.FormatInt(int64(c.IdleTimeout), 36))
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
