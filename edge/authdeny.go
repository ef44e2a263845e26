package edge

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Reasons the auth steps deny a request, values of the reason label of
// edge_requests_denied_total.
const (
	denyBasicAuthMissing  = "basic_auth_missing"  // no (or no Basic) credentials
	denyBasicAuthWrong    = "basic_auth_wrong"    // unknown user or wrong password
	denyForwardAuth       = "forward_auth"        // the auth service said no
	denyForwardAuthError  = "forward_auth_error"  // the auth service did not answer in time, or failed
	denyClientCertMissing = "client_cert_missing" // a site requiring a client certificate, a connection without
)

// authDenied counts the requests the auth steps deny. It is edge_requests_denied_total of
// the access rules: when their helper is merged, countDenied calls it instead and this
// counter goes.
var authDenied = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "edge_requests_denied_total", Help: "Requests denied before reaching the app, by site and reason.",
}, []string{"site", "reason"})

// registerAuthDenied adds authDenied to reg. An error (already there, or a collector of
// that name registered by the access rules) is ignored: the access rules' counter is then
// the one exported, and countDenied is to call its helper.
func registerAuthDenied(reg prometheus.Registerer) {
	_ = reg.Register(authDenied)
}

// countDenied counts one request of site denied for reason.
func countDenied(site, reason string) {
	authDenied.WithLabelValues(site, reason).Inc()
}
