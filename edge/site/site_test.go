package site

import (
	"net/url"
	"testing"
	"time"
)

func TestRouteWithDefaults(t *testing.T) {
	hc := &HealthCheck{ExpectStatus: 204}
	r := Route{Path: "/", Upstreams: []*url.URL{{Scheme: "http", Host: "127.0.0.1:1"}}, HealthCheck: hc}
	d := r.WithDefaults()
	want := Timeouts{Connect: 5 * time.Second, Response: 60 * time.Second, Idle: 90 * time.Second, Body: 60 * time.Second}
	if d.Balance != RoundRobin || d.Timeouts != want {
		t.Errorf("balance %q, timeouts %+v; want %q, %+v", d.Balance, d.Timeouts, RoundRobin, want)
	}
	wantHC := HealthCheck{Path: "/", Interval: 10 * time.Second, Timeout: 2 * time.Second, ExpectStatus: 204}
	if d.HealthCheck == hc || *d.HealthCheck != wantHC {
		t.Errorf("health check %p %+v; want a copy, %+v", d.HealthCheck, *d.HealthCheck, wantHC)
	}
	if r.Balance != "" || r.Timeouts != (Timeouts{}) || *hc != (HealthCheck{ExpectStatus: 204}) {
		t.Errorf("the original changed: %+v, health check %+v", r, *hc)
	}
	set := Route{Balance: LeastConn, Timeouts: Timeouts{Connect: time.Second, Response: -1}}.WithDefaults()
	if set.Balance != LeastConn || set.Timeouts.Connect != time.Second || set.Timeouts.Response != -1 || set.HealthCheck != nil {
		t.Errorf("set values not kept: %+v", set)
	}
}

func TestTimeoutsNegative(t *testing.T) {
	for _, tm := range []Timeouts{{Connect: -1}, {Response: -1}, {Idle: -1}, {Body: -1}} {
		if !tm.Negative() {
			t.Errorf("%+v: not negative", tm)
		}
	}
	if (Timeouts{}).Negative() {
		t.Error("zero timeouts negative")
	}
}

func TestBalanceValid(t *testing.T) {
	for b, want := range map[Balance]bool{"": true, RoundRobin: true, LeastConn: true, "random": false, "Round_Robin": false} {
		if got := b.Valid(); got != want {
			t.Errorf("Balance(%q).Valid() = %v; want %v", b, got, want)
		}
	}
}

func TestRedirectWithDefaults(t *testing.T) {
	if got := (Redirect{To: "https://x.test"}).WithDefaults(); got.Path != "/" || got.Status != 308 {
		t.Errorf("defaults: path %q status %d; want \"/\" 308", got.Path, got.Status)
	}
	if got := (Redirect{Path: "/a", Status: 301}).WithDefaults(); got.Path != "/a" || got.Status != 301 {
		t.Errorf("set values: path %q status %d; want \"/a\" 301", got.Path, got.Status)
	}
}
