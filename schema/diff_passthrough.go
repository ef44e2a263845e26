package schema

import (
	"fmt"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// passthroughString describes a passthrough site's upstreams and options, with the
// defaults applied: "→ 127.0.0.1:8443 (round_robin, proxy protocol v2, connect 5s, idle 1h)".
func passthroughString(p *site.Passthrough) string {
	if p == nil {
		return "none (TLS terminated by the edge)"
	}
	return "→ " + strings.Join(p.Upstreams, ", ") + " " + passthroughOptions(p)
}

// passthroughOptions describes the options of p (defaults applied) in parentheses.
func passthroughOptions(p *site.Passthrough) string {
	d := p.WithDefaults()
	pp := "no proxy protocol"
	if d.ProxyProtocol {
		pp = "proxy protocol v2"
	}
	s := fmt.Sprintf("(%s, %s, connect %s, idle %s", d.Balance, pp, formatDuration(d.ConnectTimeout), formatDuration(d.IdleTimeout))
	if hc := d.HealthCheck; hc != nil {
		s += fmt.Sprintf(", health_check every %s", formatDuration(hc.Interval))
	}
	return s + ")"
}

// passthroughChange describes what changed between two passthrough declarations (nil: the
// site is terminated), or "" when nothing did.
func passthroughChange(b, h *site.Passthrough) string {
	switch {
	case b == nil && h == nil:
		return ""
	case b == nil:
		return "terminated → passed through " + passthroughString(h)
	case h == nil:
		return "passed through → terminated (was " + passthroughString(b) + ")"
	}
	var parts []string
	if d := setDiff(b.Upstreams, h.Upstreams); d != "" {
		parts = append(parts, "upstreams "+d)
	}
	if bo, ho := passthroughOptions(b), passthroughOptions(h); bo != ho {
		parts = append(parts, "options "+bo+" → "+ho)
	}
	return strings.Join(parts, "; ")
}
