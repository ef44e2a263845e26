package main

import (
	"strings"
	"testing"
)

func TestPrefixList(t *testing.T) {
	var l prefixList
	if err := l.Set(" 10.0.0.0/8, 192.0.2.7,2001:db8::/32 ,::ffff:198.51.100.1"); err != nil {
		t.Fatal(err)
	}
	if got, want := l.String(), "10.0.0.0/8,192.0.2.7/32,2001:db8::/32,198.51.100.1/32"; got != want {
		t.Errorf("parsed %q; want %q", got, want)
	}
	if err := l.Set(""); err != nil || len(l) != 0 {
		t.Errorf("empty value: %v, %v; want the empty list", l, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "10.0.0.1/8", "example.com", "10.0.0.0/8,nope", "fe80::1%eth0"} {
		if err := l.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestTrustedProxiesFlag: a bad --trusted-proxies, or EDGE_TRUSTED_PROXIES, is a usage
// error naming it.
func TestTrustedProxiesFlag(t *testing.T) {
	code, _, errOut := runCmd("agent", "--repo", t.TempDir(), "--key-dir", t.TempDir(), "--admin", "off", "--trusted-proxies", "10.0.0.0/33")
	if code != exitUsage || !strings.Contains(errOut, "10.0.0.0/33") {
		t.Errorf("bad --trusted-proxies: exit %d, stderr %q; want 2 naming the value", code, errOut)
	}
	t.Setenv("EDGE_TRUSTED_PROXIES", "lb.example")
	code, _, errOut = runCmd("agent", "--repo", t.TempDir(), "--key-dir", t.TempDir(), "--admin", "off")
	if code != exitUsage || !strings.Contains(errOut, `EDGE_TRUSTED_PROXIES="lb.example" (--trusted-proxies)`) {
		t.Errorf("bad EDGE_TRUSTED_PROXIES: exit %d, stderr %q; want 2 naming the variable", code, errOut)
	}
}
