package passthrough

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/tests/testenv"
)

// listen returns the address of a loopback listener that closes what it accepts.
func listen(t *testing.T) string {
	return edgetest.TCPServer(t, func(net.Conn) {})
}

// Active TCP checks mark a refusing upstream down, so dials skip it; Close stops them.
func TestPoolHealthCheck(t *testing.T) {
	live := listen(t)
	p, err := NewPool("s", site.Passthrough{Upstreams: []string{testenv.DeadAddr(t), live},
		HealthCheck: &site.HealthCheck{Interval: 20 * time.Millisecond, Timeout: time.Second}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	for end := time.Now().Add(10 * time.Second); p.ups[0].Healthy(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the dead upstream was never marked down")
		}
	}
	if !p.ups[1].Healthy() {
		t.Error("the live upstream is down")
	}
	for range 6 {
		c, up, err := p.Dial(context.Background(), func(addr string, err error) { t.Errorf("dialed %s: %v", addr, err) })
		if err != nil || up.Addr != live {
			t.Fatalf("dial: %v, %v", up, err)
		}
		c.Close()
		up.Done()
	}
	p.Close()
	p.Close() // idempotent
}

// Round robin alternates; least_conn takes the upstream with fewer open connections.
func TestPoolBalance(t *testing.T) {
	a, b := listen(t), listen(t)
	rr, _ := NewPool("s", site.Passthrough{Upstreams: []string{a, b}}, nil)
	seen := map[string]int{}
	for range 4 {
		c, up, err := rr.Dial(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		seen[up.Addr]++
		c.Close()
		up.Done()
	}
	if seen[a] != 2 || seen[b] != 2 {
		t.Errorf("round robin: %v", seen)
	}
	lc, _ := NewPool("s", site.Passthrough{Upstreams: []string{a, b}, Balance: site.LeastConn}, nil)
	c1, up1, err := lc.Dial(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	for range 3 {
		c, up, err := lc.Dial(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if up == up1 {
			t.Errorf("least_conn chose the busy upstream %s", up.Addr)
		}
		c.Close()
		up.Done()
	}
}
