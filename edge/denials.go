package edge

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons of edge_requests_denied_total: why the edge refused a request itself.
const (
	DenyIP               = "ip"                  // the client address is not allowed (403)
	DenyForbiddenPath    = "forbidden_path"      // the path matches a forbidden pattern (404)
	DenyRateLimit        = "rate_limit"          // the client's bucket is empty (429)
	DenyBasicAuthMissing = "basic_auth_missing"  // no (or no Basic) credentials (401)
	DenyBasicAuthWrong   = "basic_auth_wrong"    // unknown user or wrong password (401)
	DenyForwardAuth      = "forward_auth"        // the auth service said no (its answer)
	DenyForwardAuthError = "forward_auth_error"  // the auth service failed or was too slow (503)
	DenyClientCert       = "client_cert_missing" // no verified client certificate where required (403)
)

// denyReasons are the reasons a site's series may have.
var denyReasons = []string{DenyIP, DenyForbiddenPath, DenyRateLimit, DenyBasicAuthMissing, DenyBasicAuthWrong, DenyForwardAuth, DenyForwardAuthError, DenyClientCert}

const (
	metricDenied      = "edge_requests_denied_total"
	metricProxyErrors = "edge_proxy_protocol_errors_total"
)

// accessMetrics are the access-control collectors.
type accessMetrics struct {
	denied      *prometheus.CounterVec // site, reason
	proxyErrors *prometheus.CounterVec // reason
}

// newAccessMetrics creates the access-control collectors and registers them.
func newAccessMetrics(reg prometheus.Registerer) *accessMetrics {
	m := &accessMetrics{
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricDenied, Help: "Requests the edge refused itself, by site and reason (ip, forbidden_path, rate_limit, basic_auth_missing, basic_auth_wrong, forward_auth, forward_auth_error, client_cert_missing).",
		}, []string{"site", "reason"}),
		proxyErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricProxyErrors, Help: "Connections from trusted load balancers closed because their PROXY protocol header was missing, malformed, too large or late (reason: missing, invalid, too_large, timeout, eof, other).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.denied, m.proxyErrors)
	return m
}

// Denials counts requests the edge refuses, by site and reason: the one helper every
// access-control step calls (see deny).
type Denials struct{ vec *prometheus.CounterVec }

// Count counts one request of site refused for reason (one of the DenyXxx constants).
func (d Denials) Count(site, reason string) {
	if d.vec != nil {
		d.vec.WithLabelValues(site, reason).Inc()
	}
}

// denials returns the helper counting denials into m.
func (m *accessMetrics) denials() Denials { return Denials{vec: m.denied} }

// forget deletes the series of a site no longer served.
func (d Denials) forget(site string) {
	for _, r := range denyReasons {
		d.vec.DeleteLabelValues(site, r)
	}
}

// deny answers r with the site's error response for status and counts the denial.
func (d Denials) deny(w http.ResponseWriter, r *http.Request, e *siteEntry, status int, reason string) {
	d.Count(e.site.Name, reason)
	writeError(w, r, e, status)
}
