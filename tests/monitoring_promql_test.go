package tests

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A small PromQL reader, enough to list the metric names an expression selects (the
// Prometheus parser would pull in most of Prometheus). It blanks what cannot hold a
// metric name (strings, label matchers, ranges, grouping clauses), then keeps the
// identifiers that are neither keywords, nor functions or aggregations (followed by "("),
// nor parts of numbers.
var (
	promStrings  = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan", "atan2"}
)

// promMetricNames returns the metric names expr selects, sorted, each once.
func promMetricNames(expr string) []string {
	for _, re := range []*regexp.Regexp{promStrings, promMatchers, promRanges, promGrouping} {
		expr = re.ReplaceAllStringFunc(expr, func(s string) string { return strings.Repeat(" ", len(s)) })
	}
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(expr, -1) {
		name := expr[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsRune("0123456789.$", rune(expr[loc[0]-1])) {
			continue // 1e3, 0x1f, a Grafana variable
		}
		if rest := strings.TrimLeft(expr[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or an aggregation
		}
		if slices.Contains(promKeywords, strings.ToLower(name)) || slices.Contains(names, name) {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// grafanaVariableExpr returns the PromQL expression in a Grafana variable query:
// label_values(expr, label) gives expr, query_result(expr) gives expr, label_values(label)
// and label_names() none.
func grafanaVariableExpr(q string) string {
	q = strings.TrimSpace(q)
	for _, f := range []string{"label_values(", "query_result("} {
		if strings.HasPrefix(q, f) && strings.HasSuffix(q, ")") {
			inner := q[len(f) : len(q)-1]
			if f == "query_result(" {
				return inner
			}
			if i := strings.LastIndex(inner, ","); i >= 0 {
				return inner[:i]
			}
			return ""
		}
	}
	return ""
}

func TestPromMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up{job="edge"} == 0`, []string{"up"}},
		{`sum by (job, site) (rate(edge_http_requests_total{class!="client_closed", site=~"a|b"}[5m])) > 0.1`,
			[]string{"edge_http_requests_total"}},
		{`edge_agent_site_failing * on (job, instance) group_left (commit) edge_agent_serving_info`,
			[]string{"edge_agent_serving_info", "edge_agent_site_failing"}},
		{"histogram_quantile(0.99, sum by (le) (rate(edge_agent_reconcile_duration_seconds_bucket{job=~\"$job\"}[$__rate_interval])))",
			[]string{"edge_agent_reconcile_duration_seconds_bucket"}},
		{`time() - x_seconds > clamp_min(5 * y_seconds, 1e3) and on (job) job:z:rate5m offset 5m`,
			[]string{"job:z:rate5m", "x_seconds", "y_seconds"}},
		{`-min without (instance) (a) < 21 * 86400 >= 7 * 86400 or count(b) by (commit) unless bool c`,
			[]string{"a", "b", "c"}},
		{`label_replace(a, "dst", "$1", "src", "(.*)")`, []string{"a"}},
	} {
		if got := promMetricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("promMetricNames(%q) = %q; want %q", tc.expr, got, tc.want)
		}
	}
	for q, want := range map[string]string{
		`label_values(edge_agent_serving_info{job=~"$job"}, instance)`: `edge_agent_serving_info{job=~"$job"}`,
		`label_values(job)`:              "",
		`query_result(count by (x) (y))`: "count by (x) (y)",
		`label_names()`:                  "",
	} {
		if got := grafanaVariableExpr(q); got != want {
			t.Errorf("grafanaVariableExpr(%q) = %q; want %q", q, got, want)
		}
	}
}
