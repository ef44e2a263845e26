package statuspage

import (
	"github.com/edgectl/edge/reconcile/issue"
)

// issueText says where a site's issued certificate stands (tls: {issuer}), for the site
// table's certificate cell: "issued by internal, renews 2026-12-03 10:00:00Z", "issuing
// from letsencrypt", "renewing from letsencrypt", "failed (letsencrypt): <reason>; next
// attempt 2026-12-02 12:05:00Z". Empty for a committed certificate. app.js's issueText
// says the same.
func issueText(s *issue.SiteStatus) string {
	if s == nil {
		return ""
	}
	switch s.State {
	case issue.StateIssued:
		t := "issued by " + s.Issuer
		if !s.RenewAt.IsZero() {
			t += ", renews " + clock(s.RenewAt)
		}
		return t
	case issue.StateFailed:
		t := "failed (" + s.Issuer + ")"
		if s.Reason != "" {
			t += ": " + s.Reason
		}
		if !s.NextAttempt.IsZero() {
			t += "; next attempt " + clock(s.NextAttempt)
		}
		return t
	}
	return string(s.State) + " from " + s.Issuer
}
