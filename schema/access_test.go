package schema_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/schema"
)

// TestAccessBuild: access, forbidden_paths and rate_limit of a site and a route build into
// site.Access, ForbiddenPaths and site.RateLimit, networks normalised (an address is its
// /32, an IPv4-mapped network its IPv4 network), per defaulting to a second.
func TestAccessBuild(t *testing.T) {
	t.Parallel()
	cfg, _ := loadValidCase(t, "access_rules")
	s := cfg.Sites[0]
	if got := fmt.Sprint(s.Access.Allow, s.Access.Deny); got != "[10.0.0.0/8 2001:db8::/32 192.0.2.7/32 198.51.100.0/24] [10.66.0.0/16]" {
		t.Errorf("site access = %s", got)
	}
	if got := fmt.Sprint(s.ForbiddenPaths); got != "[/.git/* *.bak *.sql /wp-admin/*]" {
		t.Errorf("forbidden paths = %s", got)
	}
	if l := s.RateLimit; l == nil || l.Requests != 100 || l.Per != time.Second || l.Burst != 200 || l.Header != "" {
		t.Errorf("site rate limit = %+v", l)
	}
	var admin = s.Routes[0]
	if admin.Path != "/admin" {
		admin = s.Routes[1]
	}
	if got := fmt.Sprint(admin.Access.Allow, admin.Access.Deny); got != "[10.1.0.0/16] []" {
		t.Errorf("route access = %s", got)
	}
	if l := admin.RateLimit; l == nil || l.Requests != 10 || l.Per != time.Minute || l.Header != "X-Api-Key" || l.IPv6Prefix != 56 || l.MaxClients != 5000 {
		t.Errorf("route rate limit = %+v", l)
	}
}

// TestAccessHostileLists: more networks or forbidden patterns than allowed are one error
// each, at the list, not one per entry; the site is refused.
func TestAccessHostileLists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "certs"), os.DirFS(filepath.Join("testdata", "certs"))); err != nil {
		t.Fatal(err)
	}
	var nets, paths strings.Builder
	for i := range site.MaxAccessNetworks + 1 {
		fmt.Fprintf(&nets, "%q,", netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String())
	}
	for i := range site.MaxForbiddenPaths + 1 {
		fmt.Fprintf(&paths, "\"/p%d\",", i)
	}
	src := fmt.Sprintf("package edge\n\nsites: c: {\n\thosts: [\"c.example\"]\n\tcert: \"certs/c.pem\"\n\tkey: path: \"edge/c\"\n"+
		"\taccess: deny: [%s]\n\tforbidden_paths: [%s]\n\troutes: \"/\": upstreams: [\"http://127.0.0.1:1\"]\n}\n", nets.String(), paths.String())
	if err := os.MkdirAll(filepath.Join(dir, "sites"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sites", "c.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return goldenNow }}).Load(os.DirFS(dir))
	msg := fmt.Sprint(err)
	if !strings.Contains(msg, "sites/c.cue:7:10: error: access.deny: 4097 networks; at most 4096") ||
		!strings.Contains(msg, "sites/c.cue:8:2: error: forbidden_paths: 257 patterns; at most 256") || strings.Count(msg, "\n") > 2 {
		t.Errorf("load: %v", msg)
	}
}
