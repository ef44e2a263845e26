package site

import (
	"testing"
	"time"
)

func TestParseNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.0/8": "10.0.0.0/8", "192.0.2.7": "192.0.2.7/32", "2001:db8::/32": "2001:db8::/32",
		"::1": "::1/128", "::ffff:192.0.2.0/120": "192.0.2.0/24", "::ffff:192.0.2.7": "192.0.2.7/32",
	} {
		if p, err := ParseNetwork(in); err != nil || p.String() != want {
			t.Errorf("%s: %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"10.0.0.1/8", "10.0.0.0/33", "fe80::1%eth0", "example.com", "", "10.0.0.0/"} {
		if _, err := ParseNetwork(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRateLimitDefaults(t *testing.T) {
	got := RateLimit{Requests: 5, Per: time.Second}.WithDefaults()
	if got.Burst != 5 || got.IPv4Prefix != 32 || got.IPv6Prefix != 64 || got.MaxClients != 10000 {
		t.Errorf("defaults: %+v", got)
	}
	if (*Access)(nil).Empty() != true || (&Access{}).Empty() != true {
		t.Error("nil or empty Access is not empty")
	}
}
