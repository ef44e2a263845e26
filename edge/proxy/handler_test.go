package proxy

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

func TestRoundRobinDistribution(t *testing.T) {
	m := newManager(t, Options{})
	var ups []*url.URL
	for _, n := range []string{"a", "b", "c"} {
		ups = append(ups, newBackend(t, named(n)).URL)
	}
	fe := front(t, mustHandler(t, m, site.Route{Path: "/", Upstreams: ups}))
	counts := map[string]int{}
	for range 30 {
		code, body := get(t, fe.Client(), fe.URL+"/")
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		counts[body]++
	}
	for _, n := range []string{"a", "b", "c"} {
		if counts[n] != 10 {
			t.Errorf("upstream %s got %d of 30 requests; want 10 (counts %v)", n, counts[n], counts)
		}
	}
}

// TestLeastConnPrefersIdle: with requests parked on one upstream and none in flight on
// the other, least_conn sends every new request to the idle one. The state it asserts on
// is made exact first: every parking request has either reached the slow upstream or
// completed, and nothing is in flight on the fast one (a request still in flight there
// would make a tie, which rotates).
func TestLeastConnPrefersIdle(t *testing.T) {
	m := newManager(t, Options{})
	release := make(chan struct{})
	var parked atomic.Int64
	slow := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		parked.Add(1)
		<-release
		io.WriteString(w, "slow")
	})
	fast := newBackend(t, named("fast"))
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{slow.URL, fast.URL}, Balance: site.LeastConn})
	fe := front(t, h)
	slowUp, fastUp := h.targets[0].up, h.targets[1].up

	// Park requests on the slow upstream (those that land on fast return at once).
	var wg sync.WaitGroup
	var done atomic.Int64
	defer func() { close(release); wg.Wait() }()
	const parkers = 4
	for range parkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer done.Add(1)
			res, err := fe.Client().Get(fe.URL + "/park")
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
	}
	eventually(t, 10*time.Second, "every parking request parked or done, none in flight on fast", func() bool {
		return parked.Load()+done.Load() == parkers && fastUp.inflight.Load() == 0 &&
			slowUp.inflight.Load() == parked.Load()
	})
	if parked.Load() == 0 {
		t.Fatal("no request reached the slow upstream") // ties rotate: cannot happen
	}
	client := &http.Client{Timeout: 10 * time.Second} // a request sent to slow would hang
	for range 20 {
		if _, body := get(t, client, fe.URL+"/"); body != "fast" {
			t.Fatalf("least_conn sent a request to the busy upstream (%d in flight) instead of the idle one", slowUp.inflight.Load())
		}
		// The handler releases its count as it returns, which may be just after the
		// client read the response: wait for it, so the next pick sees 0 on fast.
		eventually(t, 10*time.Second, "the fast upstream's request to end", func() bool { return fastUp.inflight.Load() == 0 })
	}
}

func TestForwardedHeadersAndHost(t *testing.T) {
	seen := make(chan http.Header, 1)
	hosts := make(chan string, 1)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		hosts <- r.Host
	})
	// Headers a client may send to pass for someone else; a trusted proxy's are kept.
	spoofed := map[string]string{
		"X-Forwarded-For":    "6.6.6.6",
		"X-Forwarded-Host":   "evil.example",
		"X-Forwarded-Proto":  "gopher",
		"X-Forwarded-Port":   "8443",
		"X-Forwarded-Prefix": "/admin",
		"X-Forwarded-Ssl":    "on",
		"Forwarded":          "for=6.6.6.6",
		"X-Real-IP":          "6.6.6.6",
		"True-Client-IP":     "6.6.6.6",
		"X-Client-IP":        "6.6.6.6",
	}
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		spoof   bool
		want    map[string]string // "" means absent
	}{
		{"no header", nil, false, map[string]string{
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "shop.example.com", "X-Forwarded-Proto": "http"}},
		{"spoofed dropped", nil, true, map[string]string{
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "shop.example.com", "X-Forwarded-Proto": "http",
			"X-Forwarded-Port": "", "X-Forwarded-Prefix": "", "X-Forwarded-Ssl": "", "Forwarded": "",
			"X-Real-IP": "", "True-Client-IP": "", "X-Client-IP": ""}},
		{"untrusted peer", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, true, map[string]string{
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "shop.example.com", "X-Real-IP": "", "X-Forwarded-Port": ""}},
		{"trusted peer kept", loopback, true, map[string]string{
			"X-Forwarded-For": "6.6.6.6, 127.0.0.1", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "gopher",
			"X-Forwarded-Port": "8443", "X-Forwarded-Prefix": "/admin", "Forwarded": "for=6.6.6.6", "X-Real-IP": "6.6.6.6"}},
		{"trusted peer without headers", loopback, false, map[string]string{
			"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": "shop.example.com", "X-Forwarded-Proto": "http"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, Options{TrustedProxies: tt.trusted})
			fe := front(t, mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL}}))
			req, _ := http.NewRequest("GET", fe.URL+"/x", nil)
			req.Host = "shop.example.com"
			if tt.spoof {
				for k, v := range spoofed {
					req.Header.Set(k, v)
				}
			}
			res, err := fe.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			h, host := <-seen, <-hosts
			for k, want := range tt.want {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q; want %q", k, got, want)
				}
			}
			if host != "shop.example.com" {
				t.Errorf("upstream Host = %q; want the incoming shop.example.com", host)
			}
		})
	}
}

func TestStripPrefixThroughProxy(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.RequestURI())
	})
	base := *b.URL
	base.Path = "/app"
	m := newManager(t, Options{})
	fe := front(t, mustHandler(t, m, site.Route{Path: "/api", StripPrefix: true, Upstreams: []*url.URL{&base}}))
	for req, want := range map[string]string{
		"/api/users?id=7": "/app/users?id=7",
		"/api":            "/app/",
	} {
		if _, got := get(t, fe.Client(), fe.URL+req); got != want {
			t.Errorf("GET %s reached upstream as %q; want %q", req, got, want)
		}
	}
}

func TestInfoHook(t *testing.T) {
	dead := deadURL(t)
	live := newBackend(t, named("live"))
	var mu sync.Mutex
	var errs []string
	m := newManager(t, Options{OnUpstreamError: func(u *url.URL, err error) {
		mu.Lock()
		errs = append(errs, u.Host)
		mu.Unlock()
	}})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{dead, live.URL}, Retries: 1})
	infos := make(chan Info, 1)
	fe := front(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := new(Info)
		h.ServeHTTP(w, r.WithContext(WithInfo(r.Context(), info)))
		infos <- *info
	}))
	// Round robin starts at index 1 (live), so the second request goes to dead first.
	get(t, fe.Client(), fe.URL)
	<-infos
	if code, body := get(t, fe.Client(), fe.URL); code != 200 || body != "live" {
		t.Fatalf("got %d %q; want 200 live", code, body)
	}
	info := <-infos
	if info.Upstream != live.URL || info.Attempts != 2 || info.Err != nil || info.Outcome != "" {
		t.Errorf("Info = {%v %d %v %q}; want {%v 2 <nil> \"\"} (a retry that succeeded is no upstream error)",
			info.Upstream, info.Attempts, info.Err, info.Outcome, live.URL)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 || errs[0] != dead.Host {
		t.Errorf("OnUpstreamError calls = %v; want [%s]", errs, dead.Host)
	}
	if n := h.targets[1].up.inflight.Load(); n != 0 {
		t.Errorf("in flight after requests = %d; want 0", n)
	}
}

func TestHTTPSUpstream(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls %s", r.Proto)
	}))
	ts.EnableHTTP2 = true // offered, but the proxy speaks HTTP/1.1 to upstreams
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	m := newManager(t, Options{UpstreamTLS: ts.Client().Transport.(*http.Transport).TLSClientConfig})
	fe := front(t, mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{mustURL(t, ts.URL)}}))
	code, body := get(t, fe.Client(), fe.URL+"/tls")
	if code != 200 || body != "tls HTTP/1.1" {
		t.Fatalf("got %d %q; want 200 \"tls HTTP/1.1\"", code, body)
	}
	// Without the CA the upstream certificate is refused: a plain 502.
	m2 := newManager(t, Options{})
	h2 := mustHandler(t, m2, site.Route{Path: "/", Upstreams: []*url.URL{mustURL(t, ts.URL)}})
	fe2 := front(t, h2)
	if code, body := get(t, fe2.Client(), fe2.URL); code != 502 || body != "502 Bad Gateway\n" {
		t.Fatalf("untrusted upstream: got %d %q; want 502", code, body)
	}
	if h2.targets[0].up.fails.Load() != 1 {
		t.Errorf("handshake failure not counted as a connection failure")
	}
}
