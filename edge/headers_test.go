package edge

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

func TestHeaderOps(t *testing.T) {
	ops, err := newHeaderOps(site.Headers{
		HSTS:   &site.HSTS{MaxAge: 365 * 24 * time.Hour, IncludeSubdomains: true, Preload: true},
		Set:    map[string]string{"x-frame-options": "DENY", "Server": "edge"},
		Remove: []string{"x-powered-by", "server"},
	})
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{
		"X-Powered-By":              {"Express"},
		"Server":                    {"node"},
		"Strict-Transport-Security": {"max-age=1"},
		"Content-Type":              {"text/plain"},
	}
	ops.apply(hdr)
	want := http.Header{
		"Server":                    {"edge"},
		"X-Frame-Options":           {"DENY"},
		"Strict-Transport-Security": {"max-age=31536000; includeSubDomains; preload"},
		"Content-Type":              {"text/plain"},
	}
	if !reflect.DeepEqual(hdr, want) {
		t.Errorf("headers after apply:\n got %v\nwant %v", hdr, want)
	}
}

func TestHeaderOpsNoHSTS(t *testing.T) {
	ops, err := newHeaderOps(site.Headers{})
	if err != nil {
		t.Fatal(err)
	}
	if !ops.empty() {
		t.Errorf("ops of zero Headers not empty: %+v", ops)
	}
	hdr := http.Header{"Strict-Transport-Security": {"max-age=5"}}
	ops.apply(hdr)
	if got := hdr.Get("Strict-Transport-Security"); got != "max-age=5" {
		t.Errorf("HSTS = %q; want the upstream's value kept", got)
	}
}

func TestHeaderOpsInvalid(t *testing.T) {
	for name, h := range map[string]site.Headers{
		"bad set name":    {Set: map[string]string{"bad name": "x"}},
		"bad set value":   {Set: map[string]string{"X-Ok": "a\r\nb"}},
		"bad remove name": {Remove: []string{"a:b"}},
		"negative hsts":   {HSTS: &site.HSTS{MaxAge: -time.Second}},
	} {
		if _, err := newHeaderOps(h); err == nil {
			t.Errorf("%s: newHeaderOps succeeded; want an error", name)
		}
	}
}
