package proxy

import (
	"net/http"
	"net/http/httputil"
	"net/netip"
	"slices"
	"strings"
)

// clientAddressHeaders are request headers that claim the client's address or the URL it
// used, besides Forwarded and X-Forwarded-* (handled by prefix). Apps and frameworks trust
// them (Express "trust proxy", Rails, Django...), so only edge or a trusted proxy in front
// of it may set them.
var clientAddressHeaders = []string{
	"Forwarded",
	"X-Real-Ip",
	"True-Client-Ip",
	"X-Client-Ip",
	"X-Cluster-Client-Ip",
	"Cf-Connecting-Ip",
	"Fastly-Client-Ip",
}

// setForwarded writes the forwarding headers of pr.Out. From an untrusted peer (the
// default) every client-supplied forwarding header is dropped and X-Forwarded-For,
// X-Forwarded-Host and X-Forwarded-Proto are edge's own. From a trusted proxy they are
// all kept, the peer is appended to X-Forwarded-For, and X-Forwarded-Host and
// X-Forwarded-Proto are set only when the proxy did not send them (as nginx's real_ip).
func (h *Handler) setForwarded(pr *httputil.ProxyRequest) {
	if len(h.m.opts.TrustedProxies) > 0 && trusted(pr.In.RemoteAddr, h.m.opts.TrustedProxies) {
		// ReverseProxy removed these four before Rewrite; restore the trusted proxy's.
		in, out := pr.In.Header, pr.Out.Header
		for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			if v, ok := in[k]; ok {
				out[k] = v
			}
		}
		host, proto := out["X-Forwarded-Host"], out["X-Forwarded-Proto"]
		pr.SetXForwarded() // appends the peer to X-Forwarded-For
		if host != nil {
			out["X-Forwarded-Host"] = host
		}
		if proto != nil {
			out["X-Forwarded-Proto"] = proto
		}
		return
	}
	dropForwarded(pr.Out.Header)
	pr.SetXForwarded()
}

// dropForwarded deletes every client-supplied forwarding header from hdr, also spelled
// with underscores (X_Forwarded_For), which CGI-style apps read as the same variable
// (HTTP_X_FORWARDED_FOR).
func dropForwarded(hdr http.Header) {
	for k := range hdr {
		if clientForwarding(k) {
			delete(hdr, k)
		}
	}
}

// clientForwarding reports whether dropForwarded deletes header k.
func clientForwarding(k string) bool {
	if strings.IndexByte(k, '_') >= 0 {
		n := http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-"))
		return isForwarding(n) || slices.Contains(clientAddressHeaders, n)
	}
	return isForwarding(k) || slices.Contains(clientAddressHeaders, k)
}

// isForwarding reports whether header name k is an X-Forwarded-* header.
func isForwarding(k string) bool { return len(k) > 12 && strings.EqualFold(k[:12], "X-Forwarded-") }

// trusted reports whether remoteAddr (ip:port) is in one of nets.
func trusted(remoteAddr string, nets []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
