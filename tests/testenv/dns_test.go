package testenv

import (
	"context"
	"slices"
	"testing"
)

// TestStartDNS: the zone's A and AAAA records come back from the real server.
func TestStartDNS(t *testing.T) {
	d := StartDNS(t, "edge.test", map[string][]string{"agents": {"127.0.0.2", "127.0.0.3", "::1"}, "one": {"127.0.0.9"}})
	ips, err := d.Resolver().LookupIPAddr(context.Background(), d.Name("agents"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ip := range ips {
		got = append(got, ip.String())
	}
	slices.Sort(got)
	if want := []string{"127.0.0.2", "127.0.0.3", "::1"}; !slices.Equal(got, want) {
		t.Errorf("agents.edge.test: %v; want %v", got, want)
	}
	if _, err := d.Resolver().LookupIPAddr(context.Background(), d.Name("none")); err == nil {
		t.Error("none.edge.test resolved; want NXDOMAIN")
	}
}
