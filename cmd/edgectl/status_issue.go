package main

import (
	"fmt"
	"io"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/schema"
)

// printIssued writes one line per site with an issued certificate: its issuer and state
// (issuing, issued, renewing, failed), why, and when the next attempt or renewal is.
func printIssued(w io.Writer, sites []reconcile.SiteStatus) {
	for _, s := range sites {
		is := s.Issue
		if is == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s: certificate from %s: %s", s.Name, is.Issuer, is.State)
		if is.Reason != "" {
			fmt.Fprintf(w, " (%s)", schema.EscapeText(is.Reason))
		}
		if !is.NextAttempt.IsZero() {
			fmt.Fprintf(w, ", next attempt %s", fmtTime(is.NextAttempt))
		}
		if !is.RenewAt.IsZero() && is.Reason == "" {
			fmt.Fprintf(w, ", renewal from %s", fmtTime(is.RenewAt))
		}
	}
}
