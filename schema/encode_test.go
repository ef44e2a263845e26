package schema_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/schema"
)

// TestEncodeBuild: compress, cache_control (in the order written) and cors build into the
// route; defaults.compress applies to the routes that do not set compress, and
// compress: false turns it off.
func TestEncodeBuild(t *testing.T) {
	cfg, _ := loadValidCase(t, "encode_full")
	routes := routesByPath(cfg.Sites[0])
	root, api, pub := routes["/"], routes["/api"], routes["/pub"]
	wantC := &site.Compress{Types: []string{"text/*", "application/*+json", "image/svg+xml"}, MinSize: 256, Encodings: []string{"br", "gzip"}}
	if !reflect.DeepEqual(root.Compress, wantC) {
		t.Errorf("/ compress = %+v; want %+v", root.Compress, wantC)
	}
	wantRules := []site.CacheRule{
		{Pattern: "/assets/*", Value: "public, max-age=31536000, immutable"},
		{Pattern: "/docs/**", Value: "public, max-age=600"},
		{Pattern: "*.html", Value: "no-cache"},
		{Pattern: "/img/?.png", Value: "public, max-age=60"},
	}
	if !reflect.DeepEqual(root.CacheControl, wantRules) {
		t.Errorf("/ cache_control = %+v; want %+v (in the order written)", root.CacheControl, wantRules)
	}
	if api.Compress != nil {
		t.Errorf("/api compress = %+v; want nil (compress: false)", api.Compress)
	}
	wantCORS := &site.CORS{Origins: []string{"https://app.example.com", "https://*.example.org", "http://localhost:3000"},
		Methods: []string{"GET", "PUT", "DELETE"}, Headers: []string{"X-Token", "Content-Type"}, Expose: []string{"X-Request-Id"},
		Credentials: true, MaxAge: 10 * time.Minute}
	if !reflect.DeepEqual(api.CORS, wantCORS) {
		t.Errorf("/api cors = %+v; want %+v", api.CORS, wantCORS)
	}
	if pub.Compress == nil || !reflect.DeepEqual(*pub.Compress, site.Compress{}) {
		t.Errorf("/pub compress = %+v; want the repo default (true: the edge's defaults)", pub.Compress)
	}
	if pub.CORS == nil || pub.CORS.Origins[0] != "*" || pub.CORS.Headers[0] != "*" {
		t.Errorf("/pub cors = %+v", pub.CORS)
	}
}

// TestEncodeDiff: a plan shows a route's compression, Cache-Control and CORS changes.
func TestEncodeDiff(t *testing.T) {
	dir := materialize(t, goldenCaseNamed(t, "valid", "encode_full"))
	load := func() *schema.Config { return loadRepo(t, dir) }
	base := load()
	src := `package edge

sites: c: {
	hosts: ["c.example"]
	cert: "certs/c.pem"
	key: path: "edge/c"
	routes: {
		"/": {
			upstreams: ["http://127.0.0.1:3001"]
			compress: false
			cache_control: "/assets/**": "public, max-age=60"
		}
		"/api": {
			upstreams: ["http://127.0.0.1:3002"]
			compress: false
			cors: origins: ["https://app.example.com"]
		}
		"/pub": upstreams: ["http://127.0.0.1:3002"]
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, "sites", "c.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p := schema.Diff(base, load())
	if len(p.Changed) != 1 {
		t.Fatalf("changed = %+v; want site c", p.Changed)
	}
	var got []string
	for _, c := range p.Changed[0].Changes {
		got = append(got, c.What+": "+c.Detail)
	}
	all := strings.Join(got, "\n")
	for _, w := range []string{
		`route /: compress {br gzip, min_size 256, types 3} → off`,
		`route /: cache_control {"/assets/*": "public, max-age=31536000, immutable", `,
		`→ {"/assets/**": "public, max-age=60"}`,
		`route /api: cors {origins https://app.example.com https://*.example.org http://localhost:3000, methods GET PUT DELETE, headers X-Token Content-Type, credentials} → {origins https://app.example.com}`,
		`route /pub: cors {origins *, headers *} → off`,
	} {
		if !strings.Contains(all, w) {
			t.Errorf("plan lacks %q:\n%s", w, all)
		}
	}
	if strings.Contains(all, "route /pub: compress") {
		t.Errorf("plan shows a compress change of /pub, which inherits the unchanged default:\n%s", all)
	}
}
