package main

import (
	"flag"

	"github.com/edgectl/edge/edge"
)

// http3Flags are the HTTP/3 flags of the agent and the demo.
type http3Flags struct {
	on    bool
	retry int
}

// add registers --http3 and --http3-retry-threshold on f; env names the agent's
// environment fallbacks (empty: none, as for the demo).
func (h *http3Flags) add(f *flag.FlagSet, env bool) {
	tag := func(s, name string) string {
		if env {
			return s + " [" + name + "]"
		}
		return s
	}
	f.BoolVar(&h.on, "http3", true, tag("serve HTTP/3 (QUIC over UDP) on the --listen address and advertise it with Alt-Svc; false: TCP only, no UDP socket", "EDGE_HTTP3"))
	f.IntVar(&h.retry, "http3-retry-threshold", edge.DefaultRetryThreshold, tag("QUIC handshakes in progress beyond which new clients must first prove their address with a Retry (handshake floods); 0: always; negative: never", "EDGE_HTTP3_RETRY_THRESHOLD"))
}

// options returns the edge options the flags say.
func (h *http3Flags) options() edge.HTTP3Options {
	o := edge.HTTP3Options{Disabled: !h.on, RetryThreshold: h.retry}
	if h.retry == 0 {
		o.AlwaysRetry = true
	}
	return o
}
