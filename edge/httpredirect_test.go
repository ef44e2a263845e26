package edge

import (
	"net/http"
	"strings"
	"testing"
)

func TestPlainHTTPRedirect(t *testing.T) {
	srv := startServer(t, Options{AdminListen: Off})
	shop, blog, apps := routingSites(t)
	publish(t, srv, 1, shop, blog, apps)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://" + srv.HTTPAddr().String()
	p := port(srv.Addr())
	for _, tc := range []struct {
		method, path, host string
		wantStatus         int
		wantLocation       string
	}{
		{"GET", "/a/b?q=1&r=2", "shop.example.com", 301, "https://shop.example.com:" + p + "/a/b?q=1&r=2"},
		{"HEAD", "/", "blog.example.com", 301, "https://blog.example.com:" + p + "/"},
		{"POST", "/form", "shop.example.com", 308, "https://shop.example.com:" + p + "/form"},
		{"GET", "/", "x1.apps.example.com:80", 301, "https://x1.apps.example.com:" + p + "/"},
		{"GET", "/", "Shop.Example.com.", 301, "https://shop.example.com:" + p + "/"},
		{"GET", "/", "evil.example.net", 404, ""},
		{"GET", "/", "a.b.apps.example.com", 404, ""},
		{"GET", "//evil.example.net/x", "shop.example.com", 301, "https://shop.example.com:" + p + "//evil.example.net/x"},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		req.Host = tc.host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || resp.Header.Get("Location") != tc.wantLocation {
			t.Errorf("%s %s Host %s = %d %q; want %d %q", tc.method, tc.path, tc.host,
				resp.StatusCode, resp.Header.Get("Location"), tc.wantStatus, tc.wantLocation)
		}
	}
}

func TestRedirectPort(t *testing.T) {
	for _, tc := range []struct {
		port int
		addr string
		want string
	}{
		{0, "127.0.0.1:443", ""},
		{0, "127.0.0.1:8443", "8443"},
		{443, "127.0.0.1:8443", ""},
		{9443, "127.0.0.1:8443", "9443"},
	} {
		host, p, _ := strings.Cut(tc.addr, ":")
		addr := &tcpAddr{host, p}
		if got := redirectPort(tc.port, addr.resolve(t)); got != tc.want {
			t.Errorf("redirectPort(%d, %s) = %q; want %q", tc.port, tc.addr, got, tc.want)
		}
	}
}
