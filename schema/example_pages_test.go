package schema_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/schema"
)

// TestExampleConfigPages: the example's acme site has error pages, a maintenance switch
// (off) and a rewrite, as its comments say.
func TestExampleConfigPages(t *testing.T) {
	cfg, err := schema.LoadDir(filepath.Join("..", "examples", "config"))
	if err != nil {
		t.Fatal(err)
	}
	var acme *schema.Site
	for _, s := range cfg.Sites {
		if s.Name == "acme" {
			acme = s
		}
	}
	if acme == nil {
		t.Fatal("no acme site")
	}
	ep := acme.ErrorPages
	if ep == nil || !ep.Upstream || ep.Page(404) == nil || ep.Page(502) == nil || !strings.Contains(string(ep.Page(502).Body), "went wrong") {
		t.Errorf("acme error pages: %+v", ep)
	}
	if acme.Maintenance != nil {
		t.Errorf("acme maintenance is on: %+v", acme.Maintenance)
	}
	if len(acme.Rewrites) != 1 || acme.Rewrites[0].From != "/blog/{year}/{slug}" {
		t.Errorf("acme rewrites: %+v", acme.Rewrites)
	}
}
