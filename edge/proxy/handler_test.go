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
	"testing"
	"time"
)

func TestRoundRobinDistribution(t *testing.T) {
	m := newManager(t, Options{})
	var ups []*url.URL
	for _, n := range []string{"a", "b", "c"} {
		ups = append(ups, newBackend(t, named(n)).URL)
	}
	fe := front(t, mustHandler(t, m, Config{Path: "/", Upstreams: ups}))
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

func TestLeastConnPrefersIdle(t *testing.T) {
	m := newManager(t, Options{})
	release := make(chan struct{})
	slow := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "slow")
	})
	fast := newBackend(t, named("fast"))
	h := mustHandler(t, m, Config{Path: "/", Upstreams: []*url.URL{slow.URL, fast.URL}, Balance: LeastConn})
	fe := front(t, h)

	// Park requests on the slow upstream (those that land on fast return at once).
	var wg sync.WaitGroup
	defer func() { close(release); wg.Wait() }()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := fe.Client().Get(fe.URL + "/slow")
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
	}
	eventually(t, 5*time.Second, "slow upstream to hold a request", func() bool {
		return h.targets[0].up.inflight.Load() >= 1
	})
	parked := h.targets[0].up.inflight.Load()
	client := &http.Client{Timeout: 5 * time.Second} // a request sent to slow would hang
	for range 20 {
		if _, body := get(t, client, fe.URL+"/"); body != "fast" {
			t.Fatalf("least_conn sent a request to the busy upstream (%d in flight) instead of the idle one", parked)
		}
	}
}

func TestForwardedHeadersAndHost(t *testing.T) {
	seen := make(chan http.Header, 1)
	hosts := make(chan string, 1)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		hosts <- r.Host
	})
	tests := []struct {
		name    string
		trusted []netip.Prefix
		spoof   string
		wantXFF string
	}{
		{"no header", nil, "", "127.0.0.1"},
		{"spoofed dropped", nil, "6.6.6.6", "127.0.0.1"},
		{"trusted peer kept", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "6.6.6.6", "6.6.6.6, 127.0.0.1"},
		{"untrusted peer", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "6.6.6.6", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, Options{TrustedProxies: tt.trusted})
			fe := front(t, mustHandler(t, m, Config{Path: "/", Upstreams: []*url.URL{b.URL}}))
			req, _ := http.NewRequest("GET", fe.URL+"/x", nil)
			req.Host = "shop.example.com"
			if tt.spoof != "" {
				req.Header.Set("X-Forwarded-For", tt.spoof)
				req.Header.Set("X-Forwarded-Host", "evil.example")
				req.Header.Set("X-Forwarded-Proto", "https")
				req.Header.Set("Forwarded", "for=6.6.6.6")
			}
			res, err := fe.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			h, host := <-seen, <-hosts
			if got := h.Get("X-Forwarded-For"); got != tt.wantXFF {
				t.Errorf("X-Forwarded-For = %q; want %q", got, tt.wantXFF)
			}
			if got := h.Get("X-Forwarded-Host"); got != "shop.example.com" {
				t.Errorf("X-Forwarded-Host = %q; want shop.example.com", got)
			}
			if got := h.Get("X-Forwarded-Proto"); got != "http" {
				t.Errorf("X-Forwarded-Proto = %q; want http", got)
			}
			if got := h.Get("Forwarded"); got != "" {
				t.Errorf("Forwarded = %q; want it dropped", got)
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
	fe := front(t, mustHandler(t, m, Config{Path: "/api", StripPrefix: true, Upstreams: []*url.URL{&base}}))
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
	h := mustHandler(t, m, Config{Path: "/", Upstreams: []*url.URL{dead, live.URL}, Retries: 1})
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
	if info.Upstream != live.URL || info.Attempts != 2 || info.Err != nil {
		t.Errorf("Info = {%v %d %v}; want {%v 2 <nil>}", info.Upstream, info.Attempts, info.Err, live.URL)
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
	fe := front(t, mustHandler(t, m, Config{Path: "/", Upstreams: []*url.URL{mustURL(t, ts.URL)}}))
	code, body := get(t, fe.Client(), fe.URL+"/tls")
	if code != 200 || body != "tls HTTP/1.1" {
		t.Fatalf("got %d %q; want 200 \"tls HTTP/1.1\"", code, body)
	}
	// Without the CA the upstream certificate is refused: a plain 502.
	m2 := newManager(t, Options{})
	h2 := mustHandler(t, m2, Config{Path: "/", Upstreams: []*url.URL{mustURL(t, ts.URL)}})
	fe2 := front(t, h2)
	if code, body := get(t, fe2.Client(), fe2.URL); code != 502 || body != "502 Bad Gateway\n" {
		t.Fatalf("untrusted upstream: got %d %q; want 502", code, body)
	}
	if h2.targets[0].up.fails.Load() != 1 {
		t.Errorf("handshake failure not counted as a connection failure")
	}
}
