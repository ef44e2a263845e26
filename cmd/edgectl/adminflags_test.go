package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgentAdminAccessRefused: the agent refuses at start an exposed admin listener without
// credentials, and a client CA without TLS, with a usage error saying what to do.
func TestAgentAdminAccessRefused(t *testing.T) {
	base := []string{"agent", "--repo", t.TempDir(), "--key-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--http-listen", "off", "--state-dir", "off"}
	code, _, errOut := runCmd(append(base, "--admin", "0.0.0.0:0")...)
	if code != exitUsage || !strings.Contains(errOut, "not on loopback") || !strings.Contains(errOut, "--admin-token-file") {
		t.Errorf("exposed admin without credentials: exit %d, stderr %q; want 2 naming --admin-token-file", code, errOut)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDGE_ADMIN_CLIENT_CA", ca)
	code, _, errOut = runCmd(append(base, "--admin", "127.0.0.1:0")...)
	if code != exitUsage || !strings.Contains(errOut, "needs the admin listener on TLS") {
		t.Errorf("EDGE_ADMIN_CLIENT_CA without TLS: exit %d, stderr %q; want 2", code, errOut)
	}
}
