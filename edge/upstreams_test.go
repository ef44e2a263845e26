package edge

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/tests/testenv"
)

// countingApp is a real upstream that answers its name, counts its requests and fails its
// health check while sick is set.
type countingApp struct {
	name string
	url  *url.URL
	hits atomic.Int64
	sick atomic.Bool
}

func newCountingApp(t *testing.T, name string) *countingApp {
	a := &countingApp{name: name}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if a.sick.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		a.hits.Add(1)
		io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	a.url = mustURL(s.URL)
	return a
}

// TestCanarySplit: 10,000 HTTP/2 requests from h2load through a route weighted 95/5 reach
// the canary in proportion to its weight. The tolerance is that of a fair draw with
// p = 0.05 (five standard deviations of the binomial, about 1.1 points): a balancer that
// ignored the weights, or weighted them wrong, fails; smooth weighted round robin is
// exact (500).
func TestCanarySplit(t *testing.T) {
	t.Parallel()
	h2load := testenv.NeedTool(t, "h2load", "nghttp2-client")
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	stable, canary := newCountingApp(t, "stable"), newCountingApp(t, "canary")
	s := testSite(t, "canary", "canary.example.com")
	s.Routes = []site.Route{{Path: "/", Upstreams: []*url.URL{stable.url, canary.url}, Weights: []int{95, 5}}}
	publish(t, srv, 1, s)

	const n, p = 10000, 0.05
	port := port(srv.Addr())
	out, err := run(t, 2*time.Minute, h2load, "-n", strconv.Itoa(n), "-c", "4", "-m", "16",
		"--connect-to=127.0.0.1:"+port, "https://canary.example.com:"+port+"/")
	if err != nil {
		t.Fatalf("h2load: %v\n%s", err, out)
	}
	if r := parseH2load(t, out); r.succeeded != n || r.non2xx != 0 {
		t.Fatalf("h2load: %d of %d succeeded, %d not 2xx:\n%s", r.succeeded, n, r.non2xx, out)
	}
	got, total := canary.hits.Load(), stable.hits.Load()+canary.hits.Load()
	sd := math.Sqrt(float64(total) * p * (1 - p))
	t.Logf("canary split: %d of %d requests to the canary (%.2f %%; want 5 %% ± %.0f requests, 5 standard deviations)",
		got, total, 100*float64(got)/float64(total), 5*sd)
	if total != n || math.Abs(float64(got)-p*float64(total)) > 5*sd {
		t.Errorf("canary got %d of %d requests; want %.0f ± %.0f", got, total, p*float64(total), 5*sd)
	}
}

// stickyClient sends requests to the sticky site over HTTP/2, as a browser with the
// cookie would.
type stickyClient struct {
	t      *testing.T
	c      *http.Client
	url    string
	cookie string // "name=value", "" none
}

// get returns the upstream that answered and the Set-Cookie header ("" none).
func (sc *stickyClient) get() (string, string) {
	sc.t.Helper()
	hdr := []string{}
	if sc.cookie != "" {
		hdr = append(hdr, "Cookie", "theme=dark; "+sc.cookie)
	}
	code, body, res := get(sc.t, sc.c, sc.url, hdr...)
	if code != http.StatusOK {
		sc.t.Fatalf("status %d: %s", code, body)
	}
	return body, res.Header.Get("Set-Cookie")
}

// stays sends n requests and fails unless every one reached want without a new cookie.
func (sc *stickyClient) stays(n int, want, when string) {
	sc.t.Helper()
	for range n {
		if got, set := sc.get(); got != want || set != "" {
			sc.t.Fatalf("%s: answered by %s with Set-Cookie %q; want %s and no new cookie", when, got, set, want)
		}
	}
}

// TestStickyAcrossSwaps: a client pinned to an upstream stays there across snapshot swaps
// that add upstreams and reorder them; when its upstream fails its health check it is
// balanced to another and pinned there (and stays there when the first recovers); when
// its upstream is removed, likewise. Tampered cookies are balanced and set again.
func TestStickyAcrossSwaps(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	apps := map[string]*countingApp{}
	for _, n := range []string{"a", "b", "c"} {
		apps[n] = newCountingApp(t, n)
	}
	base := testSite(t, "sticky", "sticky.example.com")
	version := func(gen uint64, names ...string) {
		s := *base
		// A long timeout: a healthy app must never look sick on a loaded machine; a sick
		// one answers 503 at once, so the short interval finds it quickly.
		r := site.Route{Path: "/", Sticky: &site.Sticky{Cookie: "srv"},
			HealthCheck: &site.HealthCheck{Path: "/health", Interval: 100 * time.Millisecond, Timeout: 3 * time.Second}}
		for _, n := range names {
			r.Upstreams = append(r.Upstreams, apps[n].url)
		}
		s.Routes = []site.Route{r}
		publish(t, srv, gen, &s)
	}
	version(1, "a", "b")
	sc := &stickyClient{t: t, c: httpClient(t, srv.Addr(), false), url: "https://sticky.example.com/"}

	first, set := sc.get()
	for _, attr := range []string{"srv=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(set, attr) {
			t.Fatalf("first response: Set-Cookie %q lacks %s", set, attr)
		}
	}
	sc.cookie, _, _ = strings.Cut(set, ";")
	sc.stays(20, first, "pinned")

	version(2, "c", "b", "a") // an upstream added, the order changed
	sc.stays(20, first, "after a swap adding c")

	// The pinned upstream fails its health check: the client moves, and is pinned again.
	apps[first].sick.Store(true)
	var moved, newSet string
	waitFor(t, "a request pinned to a sick upstream to go elsewhere", func() bool {
		moved, newSet = sc.get()
		return moved != first
	})
	if newSet == "" || strings.HasPrefix(newSet, sc.cookie+";") {
		t.Fatalf("moved to %s with Set-Cookie %q; want a new cookie", moved, newSet)
	}
	sc.cookie, _, _ = strings.Cut(newSet, ";")
	sc.stays(10, moved, "pinned again while the first is sick")
	apps[first].sick.Store(false)
	sc.stays(10, moved, "the first upstream recovered") // no flapping back

	// The pinned upstream is removed.
	var rest []string
	for _, n := range []string{"a", "b", "c"} {
		if n != moved {
			rest = append(rest, n)
		}
	}
	version(3, rest...)
	got, set := sc.get()
	if got == moved || set == "" {
		t.Fatalf("pinned upstream %s removed: answered by %s with Set-Cookie %q; want another and a new cookie", moved, got, set)
	}
	sc.cookie, _, _ = strings.Cut(set, ";")
	sc.stays(10, got, "pinned after the removal")

	// Tampered values: balanced and set again.
	for _, bad := range []string{"srv=" + strings.Repeat("A", 16), "srv=../../etc", "srv=" + strings.Repeat("x", 3000)} {
		sc.cookie = bad
		if _, set := sc.get(); set == "" {
			t.Errorf("cookie %.30q: no Set-Cookie; want the cookie set again", bad)
		}
	}
}

// wrapped stands for a route wrapper (access rules, authentication, compression): it says
// what it wraps with Unwrap.
type wrapped struct{ http.Handler }

func (w wrapped) Unwrap() http.Handler { return w.Handler }

// TestRouteHealthUnwraps: a route whose proxy handler is wrapped still shows its upstreams
// and their weights (status page).
func TestRouteHealthUnwraps(t *testing.T) {
	t.Parallel()
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	s := testSite(t, "wrapped", "wrapped.example.com")
	s.Routes = []site.Route{{Path: "/", Upstreams: []*url.URL{mustURL("http://127.0.0.1:1"), mustURL("http://127.0.0.1:2")}, Weights: []int{95, 5}}}
	inner := routeHandlers(srv.proxy, nil, Denials{})
	snap, err := buildSnapshot(1, "rev", []*Site{s}, func(s *Site, r *site.Route) (http.Handler, error) {
		h, err := inner(s, r)
		return wrapped{h}, err
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.swap(snap); err != nil {
		t.Fatal(err)
	}
	rh := srv.RouteHealth()
	if len(rh) != 1 || len(rh[0].Upstreams) != 2 || rh[0].Upstreams[0].Weight != 95 {
		t.Errorf("route health %+v; want the wrapped route with its two weighted upstreams", rh)
	}
}
