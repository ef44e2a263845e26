package schema

import (
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"Example.COM", "example.com", ""},
		{"example.com.", "example.com", ""},
		{"*.Example.com", "*.example.com", ""},
		{"bücher.example", "xn--bcher-kva.example", ""},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", ""},
		{"localhost", "localhost", ""},
		{"*.com", "", "top-level"},
		{"a.*.example", "", "first label"},
		{"**.example.com", "", "first label"},
		{"10.0.0.1", "", "IP address"},
		{"[::1]", "", "IP address"},
		{"a..b", "", "empty label"},
		{"a_b.example", "", "letters, digits"},
		{"-a.example", "", "valid DNS name"},
		{strings.Repeat("a", 64) + ".example", "", "valid DNS name"},
		{"", "", "empty"},
	}
	for _, tt := range tests {
		got, err := normalizeHost(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("normalizeHost(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("normalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNameCovers(t *testing.T) {
	tests := []struct {
		san, host string
		want      bool
	}{
		{"a.example", "a.example", true},
		{"A.Example", "a.example", true},
		{"*.a.example", "x.a.example", true},
		{"*.a.example", "a.example", false},
		{"*.a.example", "y.x.a.example", false},
		{"*.a.example", "*.a.example", true},
		{"x.a.example", "*.a.example", false},
		{"*.example", "x.a.example", false},
	}
	for _, tt := range tests {
		if got := nameCovers(tt.san, tt.host); got != tt.want {
			t.Errorf("nameCovers(%q, %q) = %v; want %v", tt.san, tt.host, got, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"1h30m", 90 * time.Minute, true},
		{"365d", 365 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"500ms", 500 * time.Millisecond, true},
		{"-1s", 0, false},
		{"1y", 0, false},
		{"12h1d", 0, false},
		{"99999999999d", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if got := formatDuration(30 * 24 * time.Hour); got != "30d" {
		t.Errorf("formatDuration(30d) = %q", got)
	}
}

func TestParseUpstreamAndPolicy(t *testing.T) {
	policy := []string{"127.0.0.0/8", "::1", "app.internal", "*.svc.internal"}
	var entries []allowEntry
	for _, p := range policy {
		e, err := parseAllowEntry(p)
		if err != nil {
			t.Fatalf("parseAllowEntry(%q): %v", p, err)
		}
		entries = append(entries, e)
	}
	for _, bad := range []string{"10.0.0.0/33", "host:80", "bad_name"} {
		if _, err := parseAllowEntry(bad); err == nil {
			t.Errorf("parseAllowEntry(%q): want error", bad)
		}
	}
	tests := []struct {
		url     string
		err     string
		allowed bool
	}{
		{"http://127.0.0.1:3001", "", true},
		{"https://[::1]:8443/base", "", true},
		{"http://APP.internal:8080", "", true},
		{"http://x.svc.internal", "", true},
		{"http://y.x.svc.internal", "", false},
		{"http://10.0.0.1", "", false},
		{"http://[::ffff:127.0.0.1]:80", "", true},
		{"ftp://127.0.0.1", "scheme", false},
		{"http://127.0.0.1:0", "port", false},
		{"http://127.0.0.1:", "empty port", false},
		{"http://u:p@127.0.0.1", "password", false},
		{"http://127.0.0.1/#x", "fragment", false},
		{"http://0.0.0.0:80", "unspecified", false},
		{"http:///x", "no host", false},
	}
	for _, tt := range tests {
		host, err := parseUpstream(tt.url)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseUpstream(%q) = %q, %v; want error containing %q", tt.url, host, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseUpstream(%q): %v", tt.url, err)
			continue
		}
		if got := allowed(entries, host); got != tt.allowed {
			t.Errorf("allowed(%q) = %v; want %v", host, got, tt.allowed)
		}
	}
}

func TestResolveHSTS(t *testing.T) {
	d := func(x time.Duration) *time.Duration { return &x }
	yes := true
	tests := []struct {
		name       string
		site, repo hstsDecl
		want       *site.HSTS
	}{
		{"built-in default", hstsDecl{}, hstsDecl{}, &site.HSTS{MaxAge: 365 * 24 * time.Hour}},
		{"repo off", hstsDecl{}, hstsDecl{Set: true, Off: true}, nil},
		{"site off", hstsDecl{Set: true, Off: true}, hstsDecl{}, nil},
		{"site on over repo off", hstsDecl{Set: true}, hstsDecl{Set: true, Off: true}, &site.HSTS{MaxAge: 365 * 24 * time.Hour}},
		{"fields merge", hstsDecl{Set: true, MaxAge: d(time.Hour)}, hstsDecl{Set: true, Subdoms: &yes}, &site.HSTS{MaxAge: time.Hour, IncludeSubdomains: true}},
	}
	for _, tt := range tests {
		got := resolveHSTS(tt.site, tt.repo)
		if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
			t.Errorf("%s: got %+v; want %+v", tt.name, got, tt.want)
		}
	}
}

func TestCheckNesting(t *testing.T) {
	tests := []struct {
		src string
		ok  bool
	}{
		{"package edge\nsites: a: routes: \"/\": health_check: path: \"/\"\n", true},
		{"a: \"x\\(1+(2))y\\(3)\"\n", true},
		{"a: " + strings.Repeat("[", 60) + strings.Repeat("]", 60), false},
		{strings.Repeat("a: ", 60) + "1", false},
		{"a: " + strings.Repeat("-", 60) + "1", false},
		{"a: 1" + strings.Repeat(" & 1", 600), false},
		{"a: [for x in [1] {x}]", false},
	}
	for _, tt := range tests {
		_, ok := checkNesting("x.cue", []byte(tt.src))
		if ok != tt.ok {
			t.Errorf("checkNesting(%.40q) = %v; want %v", tt.src, ok, tt.ok)
		}
	}
}
