package edge

import (
	"crypto/tls"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"

	"github.com/edgectl/edge/edge/site"
)

var (
	testCAOnce sync.Once
	testCA     *edgetest.CA
)

// ca returns the CA shared by the package's tests.
func ca(t testing.TB) *edgetest.CA {
	testCAOnce.Do(func() { testCA = edgetest.NewCA(t) })
	return testCA
}

// cert issues an ECDSA certificate for names.
func cert(t testing.TB, names ...string) tls.Certificate {
	return ca(t).Issue(t, edgetest.ECDSA, time.Time{}, names...)
}

// testSite returns a site serving hosts with one ECDSA certificate covering them and one
// "/" route to upstream (a placeholder URL if nil).
func testSite(t testing.TB, name string, hosts ...string) *Site {
	return &Site{
		Site: site.Site{
			Name:   name,
			Hosts:  hosts,
			Routes: []site.Route{{Path: "/", Upstreams: []*url.URL{mustURL("http://127.0.0.1:1")}}},
		},
		Certificates: []tls.Certificate{cert(t, hosts...)},
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// testSiteCert returns a one-host site using an existing certificate.
func testSiteCert(name, host string, c tls.Certificate) *Site {
	return &Site{
		Site: site.Site{
			Name:   name,
			Hosts:  []string{host},
			Routes: []site.Route{{Path: "/", Upstreams: []*url.URL{mustURL("http://127.0.0.1:1")}}},
		},
		Certificates: []tls.Certificate{c},
	}
}
