package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
)

func TestPlan(t *testing.T) {
	repo := newConfigRepo(t)
	base := repo.commit("base") // nothing new: same tree, a second commit
	// head: acme gets another upstream, old-acme goes, a new site arrives.
	repo.write("sites/acme.cue", strings.Replace(repo.read("sites/acme.cue"),
		`upstreams: ["http://127.0.0.1:3002"]`, `upstreams: ["http://127.0.0.1:3002", "http://127.0.0.1:3003"]`, 1))
	repo.remove("sites/old-acme.cue")
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sitegen.WriteSite(repo.dir, sitegen.Site{Name: "blog", Hosts: []string{"blog.example.test"}, Upstreams: []string{"http://127.0.0.1:3001"}}, sitegen.Options{CA: ca}); err != nil {
		t.Fatal(err)
	}
	// The passthrough site secure changes upstream; a passthrough site tls-b arrives.
	repo.write("sites/secure.cue", strings.Replace(repo.read("sites/secure.cue"), `"127.0.0.1:3443"`, `"127.0.0.1:3444"`, 1))
	repo.write("sites/tls-b.cue", "package edge\n\nsites: \"tls-b\": {\n\thosts: [\"tls-b.example.test\"]\n\tpassthrough: upstreams: [\"127.0.0.1:4443\"]\n}\n")
	// Only a page of the static site changes: a deploy of that site.
	repo.write("www/docs/index.html", repo.read("www/docs/index.html")+"<p>New.</p>\n")
	head := repo.commit("head")

	out := planText(t, repo.dir, base, head,
		"+ site blog (sites/blog.cue)",
		"- site old-acme (sites/old-acme.cue)",
		"~ site acme (sites/acme.cue)",
		"route /api: upstreams +http://127.0.0.1:3003",
		"~ site secure (sites/secure.cue)",
		"    passthrough: upstreams +127.0.0.1:3444 -127.0.0.1:3443\n",
		"+ site tls-b (sites/tls-b.cue)\n    hosts: tls-b.example.test\n    passthrough: → 127.0.0.1:4443 (round_robin, no proxy protocol, connect 5s, idle 1h0m0s)\n",
		"hosts added:   blog.example.test, tls-b.example.test",
		"hosts removed: old-acme.example.test",
		"~ site static-docs (sites/static-docs.cue)\n    route /: static content of www/docs changed (deploy)\n",
		"2 added, 1 removed, 3 changed, 3 unchanged")

	_, md, _ := runCmd("plan", "--repo", repo.dir, "--format", "markdown", base, head)
	for _, want := range []string{"| ➕ | `blog` |", "| ✏️ | `acme` | **route /api**: upstreams +http://127.0.0.1:3003 |",
		"| ➕ | `tls-b` | hosts `tls-b.example.test`; passthrough → 127.0.0.1:4443 (round_robin, no proxy protocol, connect 5s, idle 1h0m0s) |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown plan lacks %q:\n%s", want, md)
		}
	}

	var r struct {
		Plan schema.Plan `json:"plan"`
	}
	planJSON(t, repo.dir, base, head, &r)
	if len(r.Plan.Added) != 2 || len(r.Plan.Removed) != 1 || len(r.Plan.Changed) != 3 || r.Plan.Changed[0].Changes[0].What != "route /api" ||
		r.Plan.Changed[1].Changes[0].What != "passthrough" || r.Plan.Added[1].Passthrough == "" || r.Plan.Added[1].Cert != "" {
		t.Errorf("json plan: %+v", r.Plan)
	}

	// An invalid head: exit 1 and its errors.
	repo.write("sites/blog.cue", "package edge\nsites: blog: hosts: [\"blog.example.test\"]\n")
	bad := repo.commit("break blog")
	code, out, _ := runCmd("plan", "--repo", repo.dir, head, bad)
	if code != exitInvalid || !strings.Contains(out, "HEAD is invalid") || !strings.Contains(out, `sites/blog.cue:2:8: error: the site is missing the required field "cert"`) {
		t.Errorf("invalid head: exit %d; want 1 with the error:\n%s", code, out)
	}

	if code, _, _ := runCmd("plan", "--repo", repo.dir, base); code != exitUsage {
		t.Errorf("one revision: exit %d; want 2", code)
	}
}

// TestPlanSecurity: a commit that turns a site's HSTS off is shown apart as a security
// change, in every format; weights and sticky changes are shown in the route's changes.
func TestPlanSecurity(t *testing.T) {
	repo := newConfigRepo(t)
	base := repo.commit("base")
	repo.write("sites/acme.cue", strings.Replace(repo.read("sites/acme.cue"),
		`remove: ["X-Powered-By"]`, "remove: [\"X-Powered-By\"]\n\t\thsts: false", 1))
	canary := repo.read("sites/upstreams-canary.cue")
	for _, r := range [][2]string{{"weight: 95", "weight: 90"}, {"weight: 5}", "weight: 10}"}, {`sticky: {cookie: "edge_srv", max_age: "12h"}`, ""}} {
		if !strings.Contains(canary, r[0]) {
			t.Fatalf("upstreams-canary.cue lacks %q", r[0])
		}
		canary = strings.Replace(canary, r[0], r[1], 1)
	}
	repo.write("sites/upstreams-canary.cue", canary)
	head := repo.commit("head")

	out := planText(t, repo.dir, base, head,
		"security review (1): changes that weaken or alter a site's protection\n  ! site acme: HSTS removed (browsers are no longer told to insist on HTTPS)\n",
		"route /: weights http://127.0.0.1:3001 95 → 90, http://127.0.0.1:3002 5 → 10",
		"sticky cookie edge_srv max_age 12h0m0s samesite lax}")
	if i, j := strings.Index(out, "security review"), strings.Index(out, "~ site"); i < 0 || j < i {
		t.Errorf("the security changes do not come first:\n%s", out)
	}
	_, md, _ := runCmd("plan", "--repo", repo.dir, "--format", "markdown", base, head)
	if want := ":warning: **Security review (1): changes that weaken or alter a site's protection**\n\n- site acme: HSTS removed (browsers are no longer told to insist on HTTPS)\n"; !strings.Contains(md, want) {
		t.Errorf("markdown plan lacks %q:\n%s", want, md)
	}
	var r struct {
		Plan schema.Plan `json:"plan"`
	}
	planJSON(t, repo.dir, base, head, &r)
	if s := r.Plan.Security; len(s) != 1 || s[0].Site != "acme" || s[0].Kind != schema.SecurityRemoved || s[0].What != "headers.hsts" || s[0].File != "sites/acme.cue" {
		t.Errorf("json plan security: %+v", s)
	}
}

// planText runs edgectl plan base head on dir; the test stops unless it exits 0, and fails
// for each of wants the text plan lacks. It returns the text plan.
func planText(t *testing.T, dir, base, head string, wants ...string) string {
	t.Helper()
	code, out, errOut := runCmd("plan", "--repo", dir, base, head)
	if code != exitOK {
		t.Fatalf("exit %d; want 0\n%s%s", code, out, errOut)
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("text plan lacks %q:\n%s", want, out)
		}
	}
	return out
}

// planJSON runs edgectl plan --format json base head on dir and decodes its output into v.
func planJSON(t *testing.T, dir, base, head string, v any) {
	t.Helper()
	_, js, _ := runCmd("plan", "--repo", dir, "--format", "json", base, head)
	if err := json.Unmarshal([]byte(js), v); err != nil {
		t.Fatalf("json plan: %v\n%s", err, js)
	}
}
