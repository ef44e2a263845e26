package main

import (
	"strings"
	"testing"
)

// TestProxyProtocolFlag: a bad --proxy-protocol-from, or EDGE_PROXY_PROTOCOL_FROM, is a
// usage error naming it; a good one reaches the server's options.
func TestProxyProtocolFlag(t *testing.T) {
	code, _, errOut := runCmd("agent", "--repo", t.TempDir(), "--key-dir", t.TempDir(), "--admin", "off", "--proxy-protocol-from", "10.0.0.1/8")
	if code != exitUsage || !strings.Contains(errOut, "10.0.0.1/8") || !strings.Contains(errOut, "10.0.0.0/8") {
		t.Errorf("bad --proxy-protocol-from: exit %d, stderr %q; want 2 naming the value and the network meant", code, errOut)
	}
	t.Setenv("EDGE_PROXY_PROTOCOL_FROM", "lb.example")
	code, _, errOut = runCmd("agent", "--repo", t.TempDir(), "--key-dir", t.TempDir(), "--admin", "off")
	if code != exitUsage || !strings.Contains(errOut, `EDGE_PROXY_PROTOCOL_FROM="lb.example" (--proxy-protocol-from)`) {
		t.Errorf("bad EDGE_PROXY_PROTOCOL_FROM: exit %d, stderr %q; want 2 naming the variable", code, errOut)
	}
}
