package statuspage

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/issue"
)

// TestIssuedCertificateStates: the certificate cell of a site with an issued certificate
// says where it stands (issuing, issued with its renewal, renewing, failed with the reason
// and the next attempt), escaped; the API carries the same state; a committed
// certificate's cell says nothing more.
func TestIssuedCertificateStates(t *testing.T) {
	next := testNow.Add(5 * time.Minute)
	sites := []reconcile.SiteStatus{
		{Name: "committed", State: reconcile.SiteServing, NotAfter: testNow.Add(48 * time.Hour)},
		{Name: "new", State: reconcile.SiteFailed, Issue: &issue.SiteStatus{State: issue.StateIssuing, Issuer: "le"}},
		{Name: "ok", State: reconcile.SiteServing, NotAfter: testNow.Add(72 * time.Hour),
			Issue: &issue.SiteStatus{State: issue.StateIssued, Issuer: "internal", RenewAt: testNow.Add(time.Hour)}},
		{Name: "due", State: reconcile.SiteServing, Issue: &issue.SiteStatus{State: issue.StateRenewing, Issuer: "le"}},
		{Name: "bad", State: reconcile.SiteFailed, Issue: &issue.SiteStatus{State: issue.StateFailed, Issuer: "le",
			Reason: `rateLimited <script>window.x=1</script>`, NextAttempt: next}},
	}
	h := newTestPage(t, reconcile.Status{Sites: sites}, nil, "")
	_, body := get(t, h, "/ui/")
	want := map[string]string{
		"committed": "",
		"new":       `<div class="issue issuing">issuing from le</div>`,
		"ok":        `<div class="issue issued">issued by internal, renews 2026-12-02 13:00:00Z</div>`,
		"due":       `<div class="issue renewing">renewing from le</div>`,
		"bad": `<div class="issue failed">failed (le): ` + html.EscapeString(`rateLimited <script>window.x=1</script>`) +
			`; next attempt 2026-12-02 12:05:00Z</div>`,
	}
	for name, cell := range want {
		row := regexp.MustCompile(`<tr data-site="` + name + `"[^\n]*</tr>`).FindString(body)
		if row == "" {
			t.Fatalf("no row for %s in\n%s", name, body)
		}
		if cell == "" && strings.Contains(row, `class="issue`) || cell != "" && !strings.Contains(row, cell) {
			t.Errorf("%s's row %q; want %q", name, row, cell)
		}
	}
	if strings.Contains(body, "<script>window.x") {
		t.Error("the failure reason is not escaped")
	}
	p := getSites(t, h, "q=bad")
	if len(p.Sites) != 1 || p.Sites[0].Issue == nil || p.Sites[0].Issue.State != issue.StateFailed || !p.Sites[0].Issue.NextAttempt.Equal(next) {
		t.Errorf("API sites = %+v; want bad, failed, with its next attempt", p.Sites)
	}
}
