package proxy

import (
	"net/http"
	"net/url"
	"testing"
)

func TestStripPrefixAndTarget(t *testing.T) {
	tests := []struct {
		prefix, base, req string
		want              string
	}{
		{"/api", "http://u:1", "/api/users?x=1", "http://u:1/users?x=1"},
		{"/api", "http://u:1", "/api", "http://u:1/"},
		{"/api/", "http://u:1", "/api/v1", "http://u:1/v1"},
		{"/", "http://u:1", "/a/b", "http://u:1/a/b"},
		{"", "http://u:1/app", "/a", "http://u:1/app/a"},
		{"", "http://u:1/app/", "/a", "http://u:1/app/a"},
		{"/api", "http://u:1/app?k=v", "/api/a%2Fb?x=1", "http://u:1/app/a%2Fb?k=v&x=1"},
		{"", "https://u:1/?k=v", "/", "https://u:1/?k=v"},
	}
	for _, tt := range tests {
		in, err := url.Parse(tt.req)
		if err != nil {
			t.Fatal(err)
		}
		base, err := url.Parse(tt.base)
		if err != nil {
			t.Fatal(err)
		}
		if tt.prefix != "" {
			stripPrefix(in, tt.prefix)
		}
		req := &http.Request{URL: in, Host: "site.example", Header: http.Header{}}
		setTarget(req, base)
		if req.Host != "site.example" {
			t.Errorf("Host = %q; want the request's kept", req.Host)
		}
		if got := req.URL.String(); got != tt.want {
			t.Errorf("prefix %q base %q req %q: got %s; want %s", tt.prefix, tt.base, tt.req, got, tt.want)
		}
	}
}
