package proxy

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

func TestErrorBodiesDoNotLeak(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	slow := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	sick := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	dead := deadURL(t)
	tests := []struct {
		name string
		cfg  site.Route
		want int
	}{
		{"refused", site.Route{Upstreams: []*url.URL{dead}}, 502},
		{"response timeout", site.Route{Upstreams: []*url.URL{slow.URL}, Timeouts: site.Timeouts{Response: 50 * time.Millisecond}}, 504},
		{"all down", site.Route{Upstreams: []*url.URL{sick.URL}, HealthCheck: &site.HealthCheck{Interval: time.Hour}}, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, Options{})
			tt.cfg.Path = "/"
			h := mustHandler(t, m, tt.cfg)
			if tt.cfg.HealthCheck != nil {
				eventually(t, 5*time.Second, "upstream down", h.targets[0].up.down.Load)
			}
			fe := front(t, h)
			res, err := fe.Client().Get(fe.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("status %d; want %d", res.StatusCode, tt.want)
			}
			if want := http.StatusText(tt.want); !strings.Contains(string(b), want) {
				t.Errorf("body %q; want it to contain %q", b, want)
			}
			_, port, _ := net.SplitHostPort(tt.cfg.Upstreams[0].Host)
			whole := string(b)
			for k, v := range res.Header {
				whole += k + ": " + strings.Join(v, ",") + "\n"
			}
			for _, leak := range []string{"127.0.0.1", port, "dial", "tcp", "timeout awaiting", "proxy:"} {
				if strings.Contains(whole, leak) {
					t.Errorf("response leaks %q:\n%s", leak, whole)
				}
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}
