package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAgentFleetPeersChecked: a bad peer address, from the flag or EDGE_FLEET_PEERS, or a
// peer file that cannot be read, stops the agent before it starts.
func TestAgentFleetPeersChecked(t *testing.T) {
	base := []string{"agent", "--repo", t.TempDir(), "--key-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--http-listen", "off", "--admin", "off"}
	missing := filepath.Join(t.TempDir(), "peers")
	for _, tc := range []struct {
		args     []string
		env, has string
	}{
		{[]string{"--fleet-peers", "10.0.0.1:9443,ftp://x"}, "", "ftp://x"},
		{nil, "gopher://y", "gopher://y"},
		{[]string{"--fleet-peers", missing}, "", missing},
		{[]string{"--fleet-peers", "10.0.0.1:9443", "--fleet-cert", missing}, "", "both its certificate and its key"},
	} {
		if tc.env != "" {
			t.Setenv("EDGE_FLEET_PEERS", tc.env)
		}
		code, _, errOut := runCmd(append(base, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, "fleet peers") || !strings.Contains(errOut, tc.has) {
			t.Errorf("agent %v (EDGE_FLEET_PEERS=%q): exit %d, %q; want 2 naming %q", tc.args, tc.env, code, errOut, tc.has)
		}
	}
}
