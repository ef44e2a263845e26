package schema

import (
	"github.com/edgectl/edge/edge/site"
)

// passthrough reads the passthrough declaration pv of the site at siteAt.
func (x *extractor) passthrough(pv val, siteAt fieldPath) *passthroughDecl {
	at := siteAt.field("passthrough")
	p := &passthroughDecl{P: x.pos(at)}
	p.Upstreams = x.upstreams(pv, at, "passthrough", parseTCPUpstream)
	p.Balance, _ = str(pv, "balance")
	p.ProxyProtocol, _ = boolean(pv, "proxy_protocol")
	if t := lookup(pv, "timeouts"); t.Exists() {
		tat := at.field("timeouts")
		p.Timeouts = timeoutsDecl{Connect: x.duration(t, tat, "connect"), Idle: x.duration(t, tat, "idle")}
	}
	p.Health = x.tcpHealthCheck(pv, at)
	return p
}

// tcpHealthCheck reads the TCP-connect health check of the passthrough at `at`; nil when
// it has none.
func (x *extractor) tcpHealthCheck(pv val, at fieldPath) *site.HealthCheck {
	hc := lookup(pv, "health_check")
	if !hc.Exists() {
		return nil
	}
	at = at.field("health_check")
	h := &site.HealthCheck{}
	x.checkTiming(hc, at, h)
	return h
}

// passthroughOnly refuses, on a passthrough site, the fields of a site the edge terminates,
// each at the field as written, and default: true.
func (x *extractor) passthroughOnly(siteAt fieldPath, d *siteDecl) {
	for _, f := range []struct{ name, why string }{
		{"cert", "its upstreams terminate TLS with their own certificate"},
		{"key", "its upstreams terminate TLS with their own key"},
		{"routes", "the edge passes the encrypted stream on and never sees a request"},
		{"redirects", "the edge passes the encrypted stream on and never sees a request"},
		{"headers", "the edge passes the encrypted stream on and never sees a response"},
		{"error_pages", "the edge passes the encrypted stream on and never answers a request"},
		{"maintenance", "the edge passes the encrypted stream on and never answers a request"},
		{"rewrites", "the edge passes the encrypted stream on and never sees a request"},
		{"access", "IP rules apply to requests the edge terminates"},
		{"forbidden_paths", "the edge passes the encrypted stream on and never sees a request"},
		{"rate_limit", "rate limits count requests the edge terminates"},
		{"client_auth", "the edge does not terminate its TLS, so it cannot ask for a client certificate"},
	} {
		fat := siteAt.field(f.name)
		if _, written := x.idx[fat.key()]; written {
			x.errorf(fat, "site %s is a passthrough site, which has no %s: %s; remove %s, or remove passthrough to have the edge terminate TLS",
				d.Name, f.name, f.why, f.name)
		}
	}
	if d.Dflt {
		x.errorf(siteAt.field("default"), "site %s is a passthrough site and cannot be the default: passthrough routes a connection by the name it asks for (SNI), and handshakes for unknown names or none are refused, never handed to an app; remove default: true, or set it on a site the edge terminates", d.Name)
	}
}
