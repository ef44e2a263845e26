package edge

import (
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

func TestCacheRules(t *testing.T) {
	rules, err := newCacheRules([]site.CacheRule{
		{Pattern: "/assets/*", Value: "immutable"},
		{Pattern: "/docs/**", Value: "docs"},
		{Pattern: "*.html", Value: "no-cache"},
		{Pattern: "/img/?.png", Value: "one"},
		{Pattern: "/a.b+c(d)", Value: "literal"},
		{Pattern: "/**/x/*.js", Value: "deep"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/assets/app.js":                       "immutable",
		"/assets/js/app.js":                    "",
		"/docs/a/b/c":                          "docs",
		"/docs/":                               "docs",
		"/docs":                                "",
		"/index.html":                          "no-cache",
		"/a/b/page.html":                       "no-cache",
		"/img/a.png":                           "one",
		"/img/ab.png":                          "",
		"/a.b+c(d)":                            "literal",
		"/aXb+c(d)":                            "",
		"/q/r/x/app.js":                        "deep",
		"/assets/page.html":                    "immutable", // the first match wins
		"/" + strings.Repeat("a/", 5000) + "x": "",
	} {
		if got := rules.match(path); got != want {
			t.Errorf("match(%.40q) = %q; want %q", path, got, want)
		}
	}
}

// TestCacheRulesBomb: the worst patterns the bounds allow, against a long path, match in
// linear time (RE2): the test would hang with a backtracking glob.
func TestCacheRulesBomb(t *testing.T) {
	rules, err := newCacheRules([]site.CacheRule{
		{Pattern: "/" + strings.Repeat("**a", 85), Value: "x"},
		{Pattern: strings.Repeat("*a", 128), Value: "y"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := "/" + strings.Repeat("a", 64<<10) + "b"
	if got := rules.match(p); got != "" {
		t.Errorf("match = %q; want none", got)
	}
	if got := rules.match("/" + strings.Repeat("a", 200)); got != "x" {
		t.Errorf("match = %q; want x", got)
	}
}
