package proxy

import (
	"net/url"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

func TestEjectionBackoff(t *testing.T) {
	o := &Options{}
	c, err := newConfig("", &site.Route{Upstreams: []*url.URL{{Scheme: "http", Host: "127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	up := newUpstream(c.Upstreams[0], &c, o)
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i, w := range want {
		before := time.Now()
		up.failed(o)
		got := time.Unix(0, up.ejectedUntil.Load()).Sub(before)
		if got < w*time.Second || got > w*time.Second+time.Second/2 {
			t.Errorf("failure %d: ejected for %v; want %vs", i+1, got, int(w))
		}
	}
	var now int64
	if ok, until := up.available(&now); ok || until == 0 {
		t.Errorf("available = %v, %d; want ejected", ok, until)
	}
	up.succeeded()
	now = 0
	if ok, _ := up.available(&now); !ok || up.fails.Load() != 0 {
		t.Errorf("after success: available %v, fails %d; want available, 0", ok, up.fails.Load())
	}
	up.down.Store(true)
	if ok, _ := up.available(&now); ok {
		t.Errorf("down upstream available")
	}
}
