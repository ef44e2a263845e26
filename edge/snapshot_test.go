package edge

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

func TestNewSnapshotConsistency(t *testing.T) {
	good := func() *Site { return testSite(t, "shop", "shop.example.com", "www.shop.example.com") }
	for _, tc := range []struct {
		name  string
		sites func() []*Site
		want  error  // nil: valid
		msg   string // substring of the error
	}{
		{"valid", func() []*Site { return []*Site{good(), testSite(t, "blog", "blog.example.com")} }, nil, ""},
		{"empty snapshot", func() []*Site { return nil }, nil, ""},
		{"nil site", func() []*Site { return []*Site{nil} }, ErrInvalidSite, "site 0 is nil"},
		{"duplicate name", func() []*Site { return []*Site{good(), testSite(t, "shop", "other.example.com")} }, ErrDuplicateSite, "shop"},
		{"duplicate host across sites", func() []*Site {
			return []*Site{good(), testSite(t, "copy", "shop.example.com")}
		}, ErrDuplicateHost, "shop.example.com is claimed by sites shop and copy"},
		{"duplicate host in a site", func() []*Site {
			s := good()
			s.Hosts = append(s.Hosts, "shop.example.com")
			return []*Site{s}
		}, ErrDuplicateHost, "listed twice"},
		{"two defaults", func() []*Site {
			a, b := good(), testSite(t, "blog", "blog.example.com")
			a.Default, b.Default = true, true
			return []*Site{a, b}
		}, ErrMultipleDefaults, "shop and blog"},
		{"host not covered", func() []*Site {
			s := good()
			s.Hosts = append(s.Hosts, "api.example.com")
			return []*Site{s}
		}, ErrHostNotCovered, "site shop: host api.example.com"},
		{"wildcard host needs wildcard cert", func() []*Site {
			s := testSite(t, "w", "a.example.org")
			s.Hosts = []string{"*.example.org"}
			return []*Site{s}
		}, ErrHostNotCovered, "*.example.org"},
		{"wildcard cert covers one label", func() []*Site {
			s := testSite(t, "w", "*.example.org")
			s.Hosts = []string{"a.example.org", "*.example.org"}
			return []*Site{s}
		}, nil, ""},
		{"wildcard cert does not cover two labels", func() []*Site {
			s := testSite(t, "w", "*.example.org")
			s.Hosts = []string{"a.b.example.org"}
			return []*Site{s}
		}, ErrHostNotCovered, "a.b.example.org"},
		{"leaf missing", func() []*Site {
			s := good()
			s.Certificates[0].Leaf = nil
			return []*Site{s}
		}, ErrNoCertificate, "Leaf not filled in"},
		{"no certificates", func() []*Site {
			s := good()
			s.Certificates = nil
			return []*Site{s}
		}, ErrNoCertificate, "no certificates"},
		{"no private key", func() []*Site {
			s := good()
			s.Certificates[0].PrivateKey = nil
			return []*Site{s}
		}, ErrNoCertificate, "no private key"},
		{"two ECDSA certificates", func() []*Site {
			s := good()
			s.Certificates = append(s.Certificates, cert(t, s.Hosts...))
			return []*Site{s}
		}, ErrNoCertificate, "a second ECDSA"},
		{"nothing to serve", func() []*Site {
			s := good()
			s.Routes = nil
			return []*Site{s}
		}, ErrNothingToServe, "shop"},
		{"redirect only", func() []*Site {
			s := good()
			s.Routes = nil
			s.Redirects = []site.Redirect{{To: "https://example.com"}}
			return []*Site{s}
		}, nil, ""},
		{"upper-case host", func() []*Site {
			s := good()
			s.Hosts = []string{"Shop.example.com"}
			return []*Site{s}
		}, ErrInvalidSite, "Shop.example.com"},
		{"no hosts", func() []*Site {
			s := good()
			s.Hosts = nil
			return []*Site{s}
		}, ErrInvalidSite, "no hosts"},
		{"route without slash", func() []*Site {
			s := good()
			s.Routes[0].Path = "api"
			return []*Site{s}
		}, ErrInvalidSite, `route "api"`},
		{"route without upstream", func() []*Site {
			s := good()
			s.Routes[0].Upstreams = nil
			return []*Site{s}
		}, ErrInvalidSite, "no upstreams"},
		{"route bad upstream scheme", func() []*Site {
			s := good()
			s.Routes[0].Upstreams[0] = mustURL("ftp://x:1")
			return []*Site{s}
		}, ErrInvalidSite, "upstream 0"},
		{"route bad balance", func() []*Site {
			s := good()
			s.Routes[0].Balance = "random"
			return []*Site{s}
		}, ErrInvalidSite, "random"},
		{"duplicate route", func() []*Site {
			s := good()
			s.Routes = append(s.Routes, s.Routes[0])
			return []*Site{s}
		}, ErrInvalidSite, "declared twice"},
		{"redirect relative", func() []*Site {
			s := good()
			s.Redirects = []site.Redirect{{To: "/elsewhere"}}
			return []*Site{s}
		}, ErrInvalidSite, "not an absolute"},
		{"redirect bad status", func() []*Site {
			s := good()
			s.Redirects = []site.Redirect{{To: "https://example.com", Status: 303}}
			return []*Site{s}
		}, ErrInvalidSite, "303"},
		{"redirect foreign host", func() []*Site {
			s := good()
			s.Redirects = []site.Redirect{{To: "https://example.com", Hosts: []string{"other.example.com"}}}
			return []*Site{s}
		}, ErrInvalidSite, "other.example.com is not one of the site's hosts"},
		{"bad header", func() []*Site {
			s := good()
			s.Headers.Set = map[string]string{"Bad Name": "x"}
			return []*Site{s}
		}, ErrInvalidSite, "Bad Name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := newSnapshot(7, "abc123", tc.sites(), nil)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("NewSnapshot: %v; want no error", err)
				}
				if snap.Generation() != 7 || snap.Commit() != "abc123" {
					t.Errorf("generation, revision = %d, %q; want 7, abc123", snap.Generation(), snap.Commit())
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("NewSnapshot error = %v; want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("NewSnapshot error = %q; want it to contain %q", err, tc.msg)
			}
			if snap != nil {
				t.Errorf("NewSnapshot returned a snapshot with an error")
			}
		})
	}
}

func TestNewSnapshotReportsEveryProblem(t *testing.T) {
	a := testSite(t, "a", "a.example.com")
	a.Routes = nil
	b := testSite(t, "b", "b.example.com")
	b.Certificates[0].Leaf = nil
	_, err := newSnapshot(1, "", []*Site{a, b}, nil)
	if !errors.Is(err, ErrNothingToServe) || !errors.Is(err, ErrNoCertificate) {
		t.Errorf("error = %v; want both ErrNothingToServe and ErrNoCertificate", err)
	}
}

func TestNilSnapshotGetters(t *testing.T) {
	var s *Snapshot
	if s.Generation() != 0 || s.Commit() != "" || s.numSites() != 0 || s.allSites() != nil ||
		s.siteNamed("x") != nil || s.siteFor("x") != nil || s.defaultSite() != nil ||
		!s.createdAt().IsZero() || !s.notAfter("x").IsZero() || s.sniEntry("x") != nil {
		t.Error("nil snapshot getters returned something")
	}
}

func TestSnapshotGetters(t *testing.T) {
	shop := testSite(t, "shop", "shop.example.com")
	wild := testSite(t, "wild", "*.apps.example.com")
	def := testSite(t, "fallback", "fallback.example.com")
	def.Default = true
	snap, err := newSnapshot(3, "r3", []*Site{shop, wild, def}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if snap.numSites() != 3 || snap.siteNamed("wild") != wild || snap.defaultSite() != def {
		t.Errorf("Len, Site, Default = %d, %v, %v", snap.numSites(), snap.siteNamed("wild"), snap.defaultSite())
	}
	for host, want := range map[string]*Site{
		"shop.example.com":       shop,
		"SHOP.example.com.:8443": shop,
		"x.apps.example.com":     wild,
		"x.y.apps.example.com":   nil,
		"apps.example.com":       nil,
		"unknown.example.com":    nil, // SiteFor does not fall back to the default
	} {
		if got := snap.siteFor(host); got != want {
			t.Errorf("SiteFor(%q) = %v; want %v", host, siteName(got), siteName(want))
		}
	}
	if got, want := snap.notAfter("shop"), shop.Certificates[0].Leaf.NotAfter; !got.Equal(want) {
		t.Errorf("NotAfter = %v; want %v", got, want)
	}
	sites := snap.allSites()
	sites[0] = nil
	if snap.allSites()[0] != shop {
		t.Error("Sites returned the snapshot's own slice")
	}
}

func TestNewSnapshotHandlerError(t *testing.T) {
	_, err := newSnapshot(1, "", []*Site{testSite(t, "a", "a.example.com")}, func(*Site, *site.Route) (http.Handler, error) {
		return nil, errors.New("boom")
	})
	if !errors.Is(err, ErrInvalidSite) || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error = %v; want ErrInvalidSite carrying boom", err)
	}
}

func siteName(s *Site) string {
	if s == nil {
		return "<nil>"
	}
	return s.Name
}

// TestBuildReusesUnchangedSites: a snapshot built over the current one shares the prepared
// entries of the sites passed unchanged (the same *Site), prepares the others anew, and
// still checks host conflicts against the reused sites.
func TestBuildReusesUnchangedSites(t *testing.T) {
	a, b := testSite(t, "a", "a.example.com"), testSite(t, "b", "b.example.com")
	prev, err := buildSnapshot(1, "r1", []*Site{a, b}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b2 := testSite(t, "b", "b.example.com", "www.b.example.com")
	next, err := buildSnapshot(2, "r2", []*Site{a, b2}, nil, prev)
	if err != nil {
		t.Fatal(err)
	}
	if next.byName["a"] != prev.byName["a"] {
		t.Error("unchanged site a was prepared again")
	}
	if next.byName["b"] == prev.byName["b"] || next.byName["b"].site != b2 {
		t.Error("changed site b kept its old entry")
	}
	if got := next.siteFor("www.b.example.com"); got != b2 {
		t.Errorf("www.b.example.com -> %v; want the new b", got)
	}
	if got := next.siteFor("a.example.com"); got != a {
		t.Errorf("a.example.com -> %v; want a", got)
	}
	// A new site claiming a host of a reused one is refused.
	thief := testSite(t, "thief", "a.example.com")
	if _, err := buildSnapshot(3, "r3", []*Site{a, thief}, nil, next); !errors.Is(err, ErrDuplicateHost) {
		t.Errorf("host claimed twice with a reused site: err = %v; want ErrDuplicateHost", err)
	}
}

// TestRefusedSnapshotAsksNoHandlers: handlers (which start the proxy's health checks) are
// asked for only once the snapshot is known to be consistent.
func TestRefusedSnapshotAsksNoHandlers(t *testing.T) {
	calls := 0
	handlers := func(*Site, *site.Route) (http.Handler, error) { calls++; return noProxyHandler, nil }
	a, thief := testSite(t, "a", "a.example.com"), testSite(t, "thief", "a.example.com")
	if _, err := buildSnapshot(1, "r", []*Site{a, thief}, handlers, nil); !errors.Is(err, ErrDuplicateHost) {
		t.Fatalf("err = %v; want ErrDuplicateHost", err)
	}
	if calls != 0 {
		t.Errorf("%d handlers asked for a refused snapshot; want 0", calls)
	}
	if _, err := buildSnapshot(1, "r", []*Site{a}, handlers, nil); err != nil || calls != len(a.Routes) {
		t.Errorf("valid snapshot: err %v, %d handlers; want %d", err, calls, len(a.Routes))
	}
}
