package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// passthroughSite declares the passthrough site name with one upstream.
func (w *stepWorld) passthroughSite(name, upstream string) {
	src := "package edge\n\nsites: " + name + ": {\n\thosts: [\"" + name + ".example.test\"]\n\tpassthrough: {upstreams: [\"" + upstream + "\"], proxy_protocol: true}\n}\n"
	w.sites[name] = fstest.MapFS{"sites/" + name + ".cue": {Data: []byte(src)}}
}

// published returns the site name of the last publish.
func (w *stepWorld) published(name string) *edge.Site {
	w.pub.mu.Lock()
	defer w.pub.mu.Unlock()
	for _, s := range w.pub.last {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// TestPassthroughSites: a passthrough site is compiled without a certificate or key and
// published next to a terminated one; the key source is never asked for it (a read of its
// zero key reference would fail here); status shows it with no expiry and no key version;
// a change of its upstreams is a change, not a key read.
func TestPassthroughSites(t *testing.T) {
	w := newStepWorld(t, 0)
	w.keys.errs[""] = errors.New("the key source was asked for a passthrough site's (zero) key reference")
	w.passthroughSite("pt", "127.0.0.1:8443")
	w.commit("c1", "alpha", "pt")
	if err := w.agent.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.check(0, nil, stepWant{outcome: reconcile.PollApplied, serving: "c1", publishes: 1, keyReads: 1,
		published: []string{"alpha", "pt"}, sites: map[string]reconcile.SiteState{"alpha": reconcile.SiteServing, "pt": reconcile.SiteServing}})
	pt := w.published("pt")
	if pt == nil || pt.Passthrough == nil || len(pt.Certificates) != 0 || pt.Commit != "c1" {
		t.Fatalf("published pt = %+v; want a passthrough site of c1 without certificates", pt)
	}
	if !slices.Equal(pt.Passthrough.Upstreams, []string{"127.0.0.1:8443"}) || !pt.Passthrough.ProxyProtocol || len(pt.Routes) != 0 {
		t.Errorf("published passthrough = %+v, routes %v", pt.Passthrough, pt.Routes)
	}
	if a := w.published("alpha"); a == nil || a.Passthrough != nil || len(a.Certificates) != 1 {
		t.Errorf("published alpha = %+v; want a terminated site with its certificate", a)
	}
	checkPassthroughStatus(t, w.agent)

	w.passthroughSite("pt", "127.0.0.1:9443")
	w.commit("c2", "alpha", "pt")
	if err := w.agent.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.check(1, nil, stepWant{outcome: reconcile.PollApplied, serving: "c2", publishes: 2, keyReads: 1,
		history: []string{"applied c2 +0 ~1 -0 !0", "applied c1 +2 ~0 -0 !0"}})
	if pt := w.published("pt"); pt == nil || !slices.Equal(pt.Passthrough.Upstreams, []string{"127.0.0.1:9443"}) || pt.Commit != "c2" {
		t.Errorf("after c2, published pt = %+v", pt)
	}
	w.keys.mu.Lock()
	defer w.keys.mu.Unlock()
	if slices.Contains(w.keys.paths, "") {
		t.Errorf("key source read paths %q; a passthrough site has no key", w.keys.paths)
	}
}

// checkPassthroughStatus checks /status: pt is a passthrough site with no expiry, no key
// version and no error.
func checkPassthroughStatus(t *testing.T, a *reconcile.Agent) {
	t.Helper()
	rec := httptest.NewRecorder()
	reconcile.StatusHandler(a).ServeHTTP(rec, httptest.NewRequest("GET", "/status", nil))
	var st struct {
		Sites []map[string]any `json:"sites"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Sites {
		_, expiry := s["notAfter"]
		switch s["name"] {
		case "pt":
			if s["passthrough"] != true || expiry || s["keyVersion"] != 0.0 || s["error"] != nil {
				t.Errorf("/status pt = %v; want passthrough: true, no notAfter, keyVersion 0, no error", s)
			}
		case "alpha":
			if s["passthrough"] != nil || !expiry {
				t.Errorf("/status alpha = %v; want a certificate expiry and no passthrough field", s)
			}
		}
	}
	if len(st.Sites) != 2 {
		t.Errorf("/status lists %d sites; want 2: %s", len(st.Sites), rec.Body)
	}
}

// TestCompilePassthroughSite: CompileSite makes a passthrough site without a certificate
// and ignores the key (there is none to fit).
func TestCompilePassthroughSite(t *testing.T) {
	cfg, err := schema.NewLoader(schema.LoaderOptions{}).Load(fstest.MapFS{"sites/pt.cue": {Data: []byte(
		"package edge\n\nsites: pt: {\n\thosts: [\"pt.example.test\", \"*.pt.example.test\"]\n\tpassthrough: upstreams: [\"[::1]:8443\"]\n}\n")}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := reconcile.CompileSite(cfg.Sites[0], keysource.Key{PEM: []byte("not a key")}, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if s.Passthrough == nil || len(s.Certificates) != 0 || s.Commit != "abc" || strings.Join(s.Hosts, ",") != "pt.example.test,*.pt.example.test" {
		t.Errorf("CompileSite = %+v; want a passthrough site of commit abc without certificates", s)
	}
}
