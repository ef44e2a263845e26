package proxy

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// stickyGet sends GET / with the cookie (none if empty) and returns the body (the
// upstream's name) and the sticky Set-Cookie header ("" if none).
func stickyGet(t *testing.T, c *http.Client, base, cookie string) (string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/", nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	return string(b), res.Header.Get("Set-Cookie")
}

// cookiePair is "name=value" of a Set-Cookie header.
func cookiePair(setCookie string) string {
	pair, _, _ := strings.Cut(setCookie, ";")
	return pair
}

func TestStickyCookie(t *testing.T) {
	m := newManager(t, Options{})
	a, b := newBackend(t, named("a")), newBackend(t, named("b"))
	r := site.Route{Path: "/", Upstreams: []*url.URL{a.URL, b.URL}, Sticky: &site.Sticky{Cookie: "srv"}}
	fe := front(t, mustHandler(t, m, r))
	c := fe.Client()

	first, sc := stickyGet(t, c, fe.URL, "")
	for _, attr := range []string{"srv=", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(sc, attr) {
			t.Errorf("Set-Cookie %q lacks %q", sc, attr)
		}
	}
	if strings.Contains(sc, "127.0.0.1") || strings.Contains(sc, a.URL.Port()) || strings.Contains(sc, b.URL.Port()) {
		t.Errorf("Set-Cookie %q shows an upstream's address", sc)
	}
	pair := cookiePair(sc)
	for range 10 {
		got, again := stickyGet(t, c, fe.URL, "other=1; "+pair)
		if got != first {
			t.Fatalf("with %s: answered by %s; want %s", pair, got, first)
		}
		if again != "" {
			t.Fatalf("with a valid cookie, Set-Cookie %q; want none", again)
		}
	}
	// Tampered values are ignored: balanced (both upstreams answer in turn) and re-set.
	seen := map[string]bool{}
	for _, bad := range []string{"srv=AAAAAAAAAAAAAAAA", "srv=", "srv=" + strings.Repeat("x", 4000), "srv=" + stickyToken("other", a.URL)} {
		got, again := stickyGet(t, c, fe.URL, bad)
		seen[got] = true
		if again == "" || cookiePair(again) == bad {
			t.Errorf("with tampered %.40q: Set-Cookie %q; want the cookie set again", bad, again)
		}
	}
	if len(seen) != 2 {
		t.Errorf("tampered cookies went to %v; want both upstreams (balanced)", seen)
	}
}

// TestStickyTokenStable: the value depends on the cookie name and the upstream's URL only:
// another manager (another edge server), another order of upstreams or another upstream
// added gives the same value.
func TestStickyTokenStable(t *testing.T) {
	a := &url.URL{Scheme: "http", Host: "10.0.0.5:3001"}
	b := &url.URL{Scheme: "http", Host: "10.0.0.6:3001"}
	c := &url.URL{Scheme: "http", Host: "10.0.0.7:3001"}
	h1 := mustHandler(t, newManager(t, Options{}), site.Route{Path: "/", Upstreams: []*url.URL{a, b}, Sticky: &site.Sticky{Cookie: "srv"}})
	h2 := mustHandler(t, newManager(t, Options{}), site.Route{Path: "/", Upstreams: []*url.URL{c, b, a}, Sticky: &site.Sticky{Cookie: "srv"}})
	if h1.targets[0].cookie != h2.targets[2].cookie || h1.targets[1].cookie != h2.targets[1].cookie {
		t.Errorf("cookies differ between managers: %q %q vs %q %q", h1.targets[0].cookie, h1.targets[1].cookie, h2.targets[2].cookie, h2.targets[1].cookie)
	}
	if h1.targets[0].cookie == h1.targets[1].cookie {
		t.Error("two upstreams have the same cookie")
	}
	if stickyToken("srv", a) == stickyToken("other", a) {
		t.Error("the token does not depend on the cookie name")
	}
}

// TestStickyFailover: the upstream a cookie names fails; the request is retried on the
// other, which answers and is pinned by a new cookie.
func TestStickyFailover(t *testing.T) {
	m := newManager(t, Options{EjectBackoff: time.Hour})
	dead := deadURL(t)
	b := newBackend(t, named("b"))
	r := site.Route{Path: "/", Upstreams: []*url.URL{dead, b.URL}, Retries: 1, Sticky: &site.Sticky{Cookie: "srv", MaxAge: time.Hour, SameSite: site.SameSiteStrict}}
	fe := front(t, mustHandler(t, m, r))
	deadCookie := "srv=" + stickyToken("srv", dead)
	got, sc := stickyGet(t, fe.Client(), fe.URL, deadCookie)
	if got != "b" || cookiePair(sc) != "srv="+stickyToken("srv", b.URL) {
		t.Fatalf("cookie naming a dead upstream: answered by %q with Set-Cookie %q; want b and its cookie", got, sc)
	}
	for _, attr := range []string{"Max-Age=3600", "SameSite=Strict"} {
		if !strings.Contains(sc, attr) {
			t.Errorf("Set-Cookie %q lacks %q", sc, attr)
		}
	}
	// Now ejected: the dead upstream's cookie is not even tried.
	got, sc = stickyGet(t, fe.Client(), fe.URL, deadCookie)
	if got != "b" || sc == "" {
		t.Errorf("cookie naming an ejected upstream: answered by %q with Set-Cookie %q; want b, cookie set again", got, sc)
	}
}

func TestStickyRefused(t *testing.T) {
	m := newManager(t, Options{})
	a := &url.URL{Scheme: "http", Host: "127.0.0.1:1"}
	for _, tc := range []struct {
		s    site.Sticky
		want string
	}{
		{site.Sticky{Cookie: ""}, "cannot be sent"},
		{site.Sticky{Cookie: "a b"}, "cannot be sent"},
		{site.Sticky{Cookie: "srv", Path: "/x;y"}, "cannot be sent"},
		{site.Sticky{Cookie: "srv", MaxAge: -time.Second}, "negative"},
		{site.Sticky{Cookie: "srv", SameSite: "sometimes"}, "same_site"},
	} {
		s := tc.s
		_, err := m.Handler("x /", &site.Route{Path: "/", Upstreams: []*url.URL{a}, Sticky: &s})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("sticky %+v: error %v; want it to say %q", tc.s, err, tc.want)
		}
	}
}

// TestStickyCookieReachesApp: the sticky cookie is passed on with the client's others.
func TestStickyCookieReachesApp(t *testing.T) {
	m := newManager(t, Options{})
	app := newBackend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Header.Get("Cookie")) })
	r := site.Route{Path: "/", Upstreams: []*url.URL{app.URL}, Sticky: &site.Sticky{Cookie: "srv"}}
	fe := front(t, mustHandler(t, m, r))
	pair := "srv=" + stickyToken("srv", app.URL)
	if got, _ := stickyGet(t, fe.Client(), fe.URL, "a=1; "+pair); got != "a=1; "+pair {
		t.Errorf("the app got Cookie %q; want %q", got, "a=1; "+pair)
	}
}
