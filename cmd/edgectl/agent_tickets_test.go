package main

import (
	"context"
	"strings"
	"testing"
)

// TestSessionTicketFlags: --session-tickets takes on or off (from EDGE_SESSION_TICKETS
// too), and a rotation of a day or more is refused at start.
func TestSessionTicketFlags(t *testing.T) {
	if code, _, errOut := runCmd("agent", "--repo", t.TempDir(), "--session-tickets", "maybe"); code != exitUsage || !strings.Contains(errOut, "want on or off") {
		t.Errorf("--session-tickets maybe: exit %d, stderr %q; want 2", code, errOut)
	}
	t.Setenv("EDGE_SESSION_TICKETS", "sometimes")
	if code, _, errOut := runCmd("agent", "--repo", t.TempDir(), "--key-dir", t.TempDir(), "--admin", "off"); code != exitUsage || !strings.Contains(errOut, "EDGE_SESSION_TICKETS") {
		t.Errorf("EDGE_SESSION_TICKETS=sometimes: exit %d, stderr %q; want 2 naming the variable", code, errOut)
	}
	t.Setenv("EDGE_SESSION_TICKETS", "")
	t.Setenv("VAULT_TOKEN", "not-used")
	code, _, errOut := runCmd("agent", "--repo", t.TempDir(), "--keys", "vault", "--vault-addr", "http://127.0.0.1:1",
		"--session-ticket-rotation", "24h", "--listen", "127.0.0.1:0", "--http-listen", "off", "--admin", "off", "--state-dir", "off")
	if code != exitUsage || !strings.Contains(errOut, "less than 24h") {
		t.Errorf("--session-ticket-rotation 24h: exit %d, stderr %q; want 2", code, errOut)
	}
	c := agentConfig{Keys: "dir", SessionTickets: sessionTicketConfig{Rotation: 48 * 3600e9}}
	if err := startSessionTickets(context.Background(), c, nil, nil, nil); err != nil {
		t.Errorf("with a key directory: %v; want nothing started", err)
	}
}
