package tests

import (
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
)

// monitoringMetrics returns every metric name examples/monitoring reads, with where it
// reads it: the rules' expressions, the rule tests' input series and the dashboard's
// queries. Names the rules record (level:metric:operations) are checked against the rules
// instead, and up is Prometheus's own.
func monitoringMetrics(t *testing.T) map[string][]string {
	t.Helper()
	var rules ruleFile
	readYAML(t, "alerts.yml", &rules)
	var tests ruleTests
	readYAML(t, "rules_test.yml", &tests)
	used := map[string][]string{}
	recorded := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
			for _, n := range promMetricNames(r.Expr) {
				used[n] = append(used[n], "alerts.yml "+r.Alert+r.Record)
			}
		}
	}
	for _, tc := range tests.Tests {
		for _, s := range tc.InputSeries {
			if m := seriesName.FindStringSubmatch(s.Series); m != nil {
				used[m[1]] = append(used[m[1]], "rules_test.yml "+tc.Name)
			} else {
				t.Errorf("rules_test.yml %s: series %q has no metric name", tc.Name, s.Series)
			}
		}
	}
	for where, e := range dashboardExprs(t, readDashboard(t)) {
		for _, n := range promMetricNames(e) {
			used[n] = append(used[n], "dashboard.json "+where)
		}
	}
	for n, where := range used {
		if strings.Contains(n, ":") {
			if !recorded[n] {
				t.Errorf("%s (read by %v) is recorded by no rule of alerts.yml", n, where)
			}
			delete(used, n)
		}
	}
	delete(used, "up")
	return used
}

// scrapedNames returns the names of the samples of a Prometheus text exposition (a
// histogram's as _bucket, _sum and _count).
func scrapedNames(text string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

// startMonitoredAgent runs the agent binary on a config repo of three sites: alpha served,
// broken served with an upstream that refuses connections, and nokey failing (its key is
// missing from the key directory). It requests alpha and broken once each, so that every
// per-site series exists, and returns the agent and its repo.
func startMonitoredAgent(t *testing.T) (*agentProc, *dirRepo) {
	t.Helper()
	d := newDirRepo(t)
	d.write("alpha")
	for name, keyDir := range map[string]string{"broken": d.keyDir, "nokey": ""} {
		s := sitegen.Site{Name: name, Hosts: []string{name + ".example.test"}, Upstreams: []string{"http://" + freeAddr(t)},
			Key: schema.KeyRef{Mount: "secret", Path: "edge/" + name, Field: "key"}}
		if _, err := sitegen.WriteSite(d.repo.Dir, s, sitegen.Options{CA: d.ca, KeyDir: keyDir}); err != nil {
			t.Fatal(err)
		}
	}
	d.repo.Commit("alpha, broken and nokey", nil)
	p := startAgentProc(t, d.ca, nil, "--repo", d.git.URL, "--interval", "1s", "--key-dir", d.keyDir)
	p.waitFor("alpha served", 30*time.Second, func() bool { return p.serves("alpha.example.test") })
	if code, _, _, err := p.get("broken.example.test"); err != nil || code != http.StatusBadGateway {
		t.Fatalf("GET broken: %d, %v; want 502 (its upstream refuses connections)", code, err)
	}
	// The poll is counted after its snapshot serves: wait for its outcome in status, set last.
	p.waitFor("nokey failed and the poll counted", 30*time.Second, func() bool {
		st := p.status()
		return siteNamed(st, "nokey").State == "failed" && st.LastPoll.Outcome != ""
	})
	return p, d
}

// TestMonitoringMetricsExist: every metric alerts.yml, rules_test.yml and dashboard.json read
// is exported by a real agent that serves sites, one failing and one whose upstream fails;
// promtool check metrics finds nothing to say about the same scrape.
func TestMonitoringMetricsExist(t *testing.T) {
	tool := promtool(t)
	used := monitoringMetrics(t)
	p, _ := startMonitoredAgent(t)
	resp, err := http.Get("http://" + p.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	exported := scrapedNames(string(body))
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range used {
			if !yield(n) {
				return
			}
		}
	})
	for _, n := range names {
		if !exported[n] {
			t.Errorf("%s, read by %s, is not in the agent's /metrics", n, strings.Join(slices.Compact(slices.Sorted(slices.Values(used[n]))), ", "))
		}
	}
	t.Logf("%d metric names read by examples/monitoring, all checked against %d exported", len(names), len(exported))
	lint := exec.Command(tool, "check", "metrics")
	lint.Stdin = bytes.NewReader(body)
	if out, err := lint.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics on the agent's /metrics: %v\n%s", err, out)
	}
}
