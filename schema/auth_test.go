package schema_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/schema"
)

// TestAuthFields: the auth declarations of the valid golden case come out as the site
// model says, defaults applied by the data plane's WithDefaults.
func TestAuthFields(t *testing.T) {
	for _, iso := range []bool{false, true} {
		t.Run(fmt.Sprintf("isolation=%v", iso), func(t *testing.T) { testAuthFields(t, iso) })
	}
}

// testAuthFields is TestAuthFields with evaluation in child processes or not (the
// declarations then cross a pipe as JSON).
func testAuthFields(t *testing.T, isolation bool) {
	dir := materialize(t, goldenCaseNamed(t, "valid", "auth_all"))
	l := schema.NewLoader(schema.LoaderOptions{Now: func() time.Time { return goldenNow }, Isolation: schema.Isolation{Enabled: isolation}})
	cfg, err := l.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Sites[0], cfg.Sites[1]
	if a.ClientAuth == nil || a.ClientAuth.Mode != site.ClientCertOptional || len(a.ClientAuth.CAs) != 1 || !a.ClientAuth.CAs[0].IsCA || a.ClientAuth.CAFile != "ca/clients.pem" {
		t.Errorf("a.ClientAuth = %+v", a.ClientAuth)
	}
	if b.ClientAuth == nil || b.ClientAuth.WithDefaults().Mode != site.ClientCertRequire {
		t.Errorf("b.ClientAuth = %+v; want mode require", b.ClientAuth)
	}
	routes := map[string]site.Route{}
	for _, r := range a.Routes {
		routes[r.Path] = r
	}
	if ba := routes["/admin"].BasicAuth; ba == nil || *ba != (site.BasicAuth{Realm: "Admin area", Users: site.SecretRef{Mount: "kv", Path: "edge/auth/admin"}}) {
		t.Errorf("/admin basic_auth = %+v", ba)
	}
	if ba := routes["/staff"].BasicAuth; ba == nil || *ba != (site.BasicAuth{Realm: "restricted", Users: site.SecretRef{Mount: "secret", Path: "edge/auth/staff"}}) {
		t.Errorf("/staff basic_auth = %+v", ba)
	}
	fa := routes["/app"].ForwardAuth
	if fa == nil || fa.URL.String() != "http://auth.internal:4181/check?app=1" || fa.Timeout != 2*time.Second ||
		!slices.Equal(fa.RequestHeaders, []string{"Cookie"}) || !slices.Equal(fa.ResponseHeaders, []string{"X-Auth-User", "X-Auth-Groups"}) {
		t.Errorf("/app forward_auth = %+v", fa)
	}
	if routes["/"].BasicAuth != nil || routes["/"].ForwardAuth != nil {
		t.Errorf("/ has auth: %+v", routes["/"])
	}
	// The CA bundle is part of the site: a changed bundle is a changed site.
	before := a.Digest
	pem, err := os.ReadFile(filepath.Join(dir, "ca/clients.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca/clients.pem"), append(pem, pem...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg2, err := l.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if cfg2.Sites[0].Digest == before || len(cfg2.Sites[0].ClientAuth.CAs) != 2 {
		t.Errorf("after the CA bundle changed: digest same %v, %d CAs; want a new digest and 2 CAs", cfg2.Sites[0].Digest == before, len(cfg2.Sites[0].ClientAuth.CAs))
	}
}
