package tests

import (
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/issue"
	"github.com/edgectl/edge/reconcile/statuspage"
)

// swapStatus is a status source whose status the test changes.
type swapStatus struct {
	mu sync.Mutex
	st reconcile.Status
}

func (s *swapStatus) Status() reconcile.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *swapStatus) set(st reconcile.Status) {
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
}

// TestUIBrowserIssueState: the status page in a real Chromium shows a site's issuance
// state as the agent reports it, and follows it in place (app.js's rendering): issuing,
// then failed with the CA's reason (hostile text shown as text) and the next attempt, then
// issued with its renewal time.
func TestUIBrowserIssueState(t *testing.T) {
	t.Parallel()
	src := &swapStatus{}
	site := func(i issue.SiteStatus, state reconcile.SiteState) reconcile.Status {
		return reconcile.Status{Sites: []reconcile.SiteStatus{{Name: "shop", File: "sites/shop.cue", State: state,
			Hosts: []string{"shop.example.test"}, Issue: &i}}}
	}
	src.set(site(issue.SiteStatus{State: issue.StateIssuing, Issuer: "letsencrypt"}, reconcile.SiteFailed))
	h, err := statuspage.New(statuspage.Options{Status: src, Refresh: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b := newUIBrowser(t)
	cell := `document.querySelector('#site-rows tr[data-site="shop"] .issue')`
	b.do(chromedp.Navigate(srv.URL+"/ui/"), chromedp.WaitVisible(chromedp.CSS(`#site-rows tr[data-site="shop"]`)))
	b.waitJS("issuing", cell+`.textContent === "issuing from letsencrypt"`, 30*time.Second)

	const reason = `urn:ietf:params:acme:error:rateLimited <img src=x onerror="window.edgeXSS=3">`
	next := time.Date(2026, 12, 2, 12, 5, 0, 0, time.UTC)
	src.set(site(issue.SiteStatus{State: issue.StateFailed, Issuer: "letsencrypt", Reason: reason, NextAttempt: next}, reconcile.SiteFailed))
	b.waitJS("failed with the reason and the next attempt",
		cell+`.textContent === "failed (letsencrypt): `+jsString(reason)+`; next attempt 2026-12-02 12:05:00Z" && `+cell+`.classList.contains("failed")`, 30*time.Second)
	b.screenshot("failed")
	if eval[bool](b, `window.edgeXSS !== undefined`) {
		t.Fatal("the failure reason ran as markup")
	}
	src.set(site(issue.SiteStatus{State: issue.StateIssued, Issuer: "letsencrypt", RenewAt: next.Add(time.Hour)}, reconcile.SiteServing))
	b.waitJS("issued with its renewal", cell+`.textContent === "issued by letsencrypt, renews 2026-12-02 13:05:00Z"`, 30*time.Second)
}

// jsString is s inside a double-quoted JavaScript string.
func jsString(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '"' || r == '\\' {
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}
