package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// promServer is a real Prometheus scraping one agent every second and evaluating
// alerts.yml every second.
type promServer struct {
	*testenv.Prometheus
	t *testing.T
}

// startPrometheus runs prometheus scraping the admin listener admin as job "edge".
func startPrometheus(t *testing.T, admin string) *promServer {
	t.Helper()
	rules, err := filepath.Abs(filepath.Join(monitoringDir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: edge
    static_configs: [{targets: [%q]}]
`, rules, admin)
	return &promServer{Prometheus: testenv.StartPrometheus(t, cfg), t: t}
}

// TestMonitoringWithPrometheus: a real Prometheus scraping a real agent (sites served, one
// failing, one with a failing upstream) with alerts.yml loaded: the recording rules yield
// series, EdgeSiteFailing names the failing site with the agent and commit, and every
// dashboard query evaluates without error and returns data.
func TestMonitoringWithPrometheus(t *testing.T) {
	p, d := startMonitoredAgent(t)
	commit := p.status().Serving.Commit
	ps := startPrometheus(t, p.admin)
	nonEmpty := func(expr string) func() bool {
		return func() bool { r, err := ps.Query(expr); return err == nil && len(r) > 0 }
	}
	took := p.waitFor("Prometheus scraping the agent", 60*time.Second, nonEmpty(`up{job="edge"} == 1`))
	p.waitFor("recorded request rates", 60*time.Second, nonEmpty(`job_site_class:edge_http_requests:rate5m{site="broken", class="5xx"}`))
	p.waitFor("EdgeSiteFailing pending", 60*time.Second, nonEmpty(`ALERTS{alertname="EdgeSiteFailing"}`))
	ps.checkAlert("EdgeSiteFailing", map[string]string{"site": "nokey", "state": "failed", "commit": commit,
		"instance": p.admin, "job": "edge", "severity": "warning"})
	exprs := dashboardExprs(t, readDashboard(t))
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range exprs {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		r, err := ps.Query(grafanaVariables.Replace(exprs[k]))
		switch {
		case err != nil:
			t.Errorf("%s: %v\n%s", k, err, exprs[k])
		case len(r) == 0:
			t.Errorf("%s: no data from a real agent: %s", k, exprs[k])
		}
	}
	// An invalid commit: EdgeRevisionRejected names the agent and the commit it still serves.
	if err := os.WriteFile(filepath.Join(d.repo.Dir, "sites", "bad.cue"), []byte("package edge\n\nsites: bad: {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.repo.Commit("an invalid site", nil)
	p.waitFor("EdgeRevisionRejected pending", 60*time.Second, nonEmpty(`ALERTS{alertname="EdgeRevisionRejected"}`))
	ps.checkAlert("EdgeRevisionRejected", map[string]string{"commit": commit, "instance": p.admin, "job": "edge", "severity": "warning"})
	t.Logf("first scrape after %v; %d dashboard queries evaluated by Prometheus against a real agent", took.Round(time.Millisecond), len(keys))
}

// checkAlert fails the test unless Prometheus has exactly one alert called name (pending or
// firing), with the labels want.
func (ps *promServer) checkAlert(name string, want map[string]string) {
	t := ps.t
	t.Helper()
	alerts, err := ps.Query(`ALERTS{alertname="` + name + `"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 {
		t.Fatalf("%s: %d alerts; want 1 with %v", name, len(alerts), want)
	}
	for k, v := range want {
		if alerts[0].Metric[k] != v {
			t.Errorf("%s label %s = %q; want %q (%v)", name, k, alerts[0].Metric[k], v, alerts[0].Metric)
		}
	}
}
