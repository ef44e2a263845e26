package schema_test

import (
	"os"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/schema"
)

// loadRepo loads the config repo in dir as of goldenNow; the test fails on an error.
func loadRepo(t testing.TB, dir string) *schema.Config {
	t.Helper()
	cfg, err := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return goldenNow }}).Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// loadValidCase materializes the valid golden case name and loads it. It returns the
// config and the repo's directory.
func loadValidCase(t testing.TB, name string) (*schema.Config, string) {
	t.Helper()
	dir := materialize(t, goldenCaseNamed(t, "valid", name))
	return loadRepo(t, dir), dir
}

// routesByPath returns the routes of s by path.
func routesByPath(s *schema.Site) map[string]site.Route {
	routes := map[string]site.Route{}
	for _, r := range s.Routes {
		routes[r.Path] = r
	}
	return routes
}
