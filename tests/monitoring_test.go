package tests

// The tests of this file check examples/monitoring: the alert rules with the real promtool
// (check rules, their unit tests), the Grafana dashboard's structure and queries, and that
// every metric the rules and the dashboard read is one a real agent exports.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
	"go.yaml.in/yaml/v3"
)

const monitoringDir = "../examples/monitoring"

// promtool returns the promtool binary (Debian package prometheus); missing, the test is
// skipped, or fails under CI=true.
func promtool(t *testing.T) string {
	t.Helper()
	return testenv.NeedTool(t, "promtool", "prometheus")
}

// ruleFile is a Prometheus rule file, as much of it as the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleTests is a promtool rule test file, as much of it as the tests read.
type ruleTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name        string `yaml:"name"`
		InputSeries []struct {
			Series string `yaml:"series"`
		} `yaml:"input_series"`
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels map[string]string `yaml:"exp_labels"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(monitoringDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// runPromtool runs promtool with args in dir and fails the test, with its output, when it
// does not succeed.
func runPromtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestMonitoringRules: alerts.yml passes promtool check rules and its unit tests; every alert
// has a severity, a summary and a description, and rules_test.yml has, for every alert, a
// case where it fires and one where it does not.
func TestMonitoringRules(t *testing.T) {
	runPromtool(t, monitoringDir, "check", "rules", "alerts.yml")
	out := runPromtool(t, monitoringDir, "test", "rules", "rules_test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules: no SUCCESS:\n%s", out)
	}
	var rules ruleFile
	readYAML(t, "alerts.yml", &rules)
	var tests ruleTests
	readYAML(t, "rules_test.yml", &tests)
	if !slices.Equal(tests.RuleFiles, []string{"alerts.yml"}) {
		t.Errorf("rules_test.yml tests %v; want alerts.yml", tests.RuleFiles)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q; want warning or critical", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want summary and description annotations", r.Alert)
			}
			if r.For == "" {
				t.Errorf("%s: no for: duration", r.Alert)
			}
			if !fires[r.Alert] || !quiet[r.Alert] {
				t.Errorf("%s: rules_test.yml has a case where it fires: %v, where it does not: %v; want both", r.Alert, fires[r.Alert], quiet[r.Alert])
			}
		}
	}
	t.Logf("%d alerts, each tested firing and not firing", alerts)
}

// dashboard is a Grafana dashboard, as much of it as the tests read.
type dashboard struct {
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []dashPanel `json:"panels"`
}

type dashPanel struct {
	ID         int                `json:"id"`
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Datasource *dashDatasource    `json:"datasource"`
	GridPos    struct{ X, W int } `json:"gridPos"`
	Targets    []struct {
		RefID      string          `json:"refId"`
		Expr       string          `json:"expr"`
		Datasource *dashDatasource `json:"datasource"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"` // of a collapsed row
}

type dashDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(monitoringDir, "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	return d
}

// dashboardPanels lists the panels of d, those of collapsed rows included.
func dashboardPanels(d dashboard) []dashPanel {
	var all []dashPanel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	return all
}

// dashboardExprs returns every PromQL expression of d by where it is: the panels' targets
// and the variables' queries.
func dashboardExprs(t *testing.T, d dashboard) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	for _, p := range dashboardPanels(d) {
		for _, tg := range p.Targets {
			exprs[fmt.Sprintf("panel %d (%s) %s", p.ID, p.Title, tg.RefID)] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			if err := json.Unmarshal(v.Query, &q.Query); err != nil {
				t.Fatalf("variable %s: query %s", v.Name, v.Query)
			}
		}
		if e := grafanaVariableExpr(q.Query); e != "" {
			exprs["variable "+v.Name] = e
		}
	}
	return exprs
}

// TestMonitoringDashboard: dashboard.json is a Grafana dashboard whose panels all query the
// ${datasource} variable, with unique ids, and whose queries (Grafana's variables put in)
// all parse: promtool checks them as the expressions of a rule file.
func TestMonitoringDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q, schemaVersion %d; want a uid and schemaVersion >= 36", d.UID, d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	for name, typ := range map[string]string{"datasource": "datasource", "instance": "query", "site": "query"} {
		if vars[name] != typ {
			t.Errorf("variable %s is %q; want a %s variable", name, vars[name], typ)
		}
	}
	ids := map[int]string{}
	queries := 0
	for _, p := range dashboardPanels(d) {
		if prev, dup := ids[p.ID]; dup || p.ID == 0 {
			t.Errorf("panel %q: id %d (also %q); want unique ids", p.Title, p.ID, prev)
		}
		ids[p.ID] = p.Title
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos x %d w %d outside the 24 columns", p.Title, p.GridPos.X, p.GridPos.W)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %+v, %d targets; want ${datasource} and targets", p.Title, p.Datasource, len(p.Targets))
		}
		for _, tg := range p.Targets {
			queries++
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" || tg.RefID == "" || tg.Expr == "" {
				t.Errorf("panel %q target %q: datasource %+v, expr %q; want ${datasource} and an expr", p.Title, tg.RefID, tg.Datasource, tg.Expr)
			}
		}
	}
	checkDashboardQueriesParse(t, dashboardExprs(t, d))
	t.Logf("%d panels, %d queries", len(ids), queries)
}

// grafanaVariables are Grafana's variables and macros in a query, with values that make it
// plain PromQL.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	"${job}", ".*", "$job", ".*", "${instance}", ".*", "$instance", ".*", "${site}", ".*", "$site", ".*")

// checkDashboardQueriesParse writes exprs as recording rules and has promtool check them.
func checkDashboardQueriesParse(t *testing.T, exprs map[string]string) {
	t.Helper()
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range exprs {
			if !yield(k) {
				return
			}
		}
	})
	for i, k := range keys {
		e := grafanaVariables.Replace(exprs[k])
		if strings.Contains(e, "$") {
			t.Errorf("%s: a Grafana variable the test does not know: %s", k, exprs[k])
		}
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query_%d", i), Expr: e})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard_rules.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool(t), "check", "rules", "dashboard_rules.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		var which strings.Builder
		for i, k := range keys {
			fmt.Fprintf(&which, "dashboard:query_%d is %s\n", i, k)
		}
		t.Errorf("the dashboard's queries, checked as rules: %v\n%s%s", err, out, which.String())
	}
}

// seriesName is the metric name of a series as promtool's input_series write it.
var seriesName = regexp.MustCompile(`^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
