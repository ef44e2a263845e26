package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/fleet"
	"github.com/edgectl/edge/schema"
)

// TestStatusFleet: the table, the JSON and the exit codes of status --fleet against agents'
// /status served by test servers.
func TestStatusFleet(t *testing.T) {
	const newC, oldC, badC = "2222222222222222222222222222222222222222", "1111111111111111111111111111111111111111", "3333333333333333333333333333333333333333"
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cur := reconcile.Status{Serving: reconcile.ServingStatus{Commit: newC, CommitTime: t0.Add(time.Hour), Since: t0.Add(2 * time.Hour)}}
	old := reconcile.Status{Serving: reconcile.ServingStatus{Commit: oldC, CommitTime: t0, Since: t0}}
	rej := cur
	rej.Rejected = &reconcile.RejectedStatus{Commit: badC, Errors: schema.Diagnostics{{File: "sites/x.cue", Line: 3, Col: 5, Severity: schema.SeverityError, Message: "bad\x1b[2Jhost"}}}
	a, b, c, r := statusServer(t, cur), statusServer(t, cur), statusServer(t, old), statusServer(t, rej)
	file := filepath.Join(t.TempDir(), "fleet")
	os.WriteFile(file, []byte("# all\n"+a+"\n"+b+", "+c+"\n"), 0o644)

	tests := []struct {
		name       string
		args       []string
		code       int
		has, lacks []string
	}{
		{"converged", []string{"--fleet", a, b}, exitOK, []string{"fleet     converged: 2 of 2 agents serve 222222222222", "222222222222  2 "}, []string{"LAGGING"}},
		{"comma list", []string{"--fleet=" + a + "," + b}, exitOK, []string{"converged: 2 of 2"}, nil},
		{"one lagging", []string{"--fleet-file", file}, exitInvalid, []string{"NOT converged: 2 of 3 agents serve 222222222222 (1 lagging",
			c + "  LAGGING  111111111111", "111111111111  1 "}, nil},
		{"want the old one", []string{"--fleet", "--want", "1111", a, c}, exitInvalid, []string{"1 of 2 agents serve 111111111111", "(--want 1111)", a + "  LAGGING"}, nil},
		{"rejecting", []string{"--fleet", a, r}, exitInvalid, []string{r + "  REJECTING", `rejected 333333333333: sites/x.cue:3:5: error: bad\x1b[2Jhost`}, []string{"\x1b"}},
		{"unreachable", []string{"--fleet", a, "127.0.0.1:1"}, exitInvalid, []string{"127.0.0.1:1", "UNREACHABLE", "connection refused"}, nil},
		{"wait gives up", []string{"--fleet", "--wait", "1500ms", a, c}, exitInvalid, []string{"NOT converged"}, nil},
		{"wait, converged at once", []string{"--fleet", "--wait", "1h", a, b}, exitOK, []string{"converged"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(append([]string{"status"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d; want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, h := range tt.has {
				if !strings.Contains(out, h) {
					t.Errorf("output lacks %q:\n%s", h, out)
				}
			}
			for _, l := range tt.lacks {
				if strings.Contains(out, l) {
					t.Errorf("output has %q:\n%s", l, out)
				}
			}
		})
	}

	code, out, _ := runCmd("status", "--fleet", "--json", a, c)
	var s fleet.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if code != exitInvalid || s.Converged || s.Target != newC || s.Counts[fleet.Lagging] != 1 || s.Agents[1].State != fleet.Lagging {
		t.Errorf("--json: exit %d, %+v; want 1, one lagging", code, s)
	}

	for _, args := range [][]string{
		{"--fleet"},
		{"--fleet", "ftp://x"},
		{"--fleet", "--want", "XYZ", a},
		{"--want", "1111"},
		{"--fleet-file", filepath.Join(t.TempDir(), "missing")},
		{"--fleet", "--token-file", filepath.Join(t.TempDir(), "missing"), a},
		{"--fleet", "--cert", file, a},
	} {
		if code, _, errOut := runCmd(append([]string{"status"}, args...)...); code != exitUsage || errOut == "" {
			t.Errorf("status %v: exit %d (%s); want 2 with a message", args, code, errOut)
		}
	}
}

// TestStatusToken: single-agent status sends --token-file's token; without it, the 401 is
// explained; the token is never printed.
func TestStatusToken(t *testing.T) {
	const token = "tok-0123456789"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", "Bearer")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(reconcile.Status{Serving: reconcile.ServingStatus{Commit: "0123456789abcdef"}, Sites: []reconcile.SiteStatus{}})
	}))
	t.Cleanup(srv.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	code, out, errOut := runCmd("status", "--admin", srv.URL)
	if code != exitUsage || !strings.Contains(errOut, "401") || !strings.Contains(errOut, "--token-file") {
		t.Errorf("without a token: exit %d %q; want 2 and a 401 naming --token-file", code, errOut)
	}
	code, out, errOut = runCmd("status", "--admin", srv.URL, "--token-file", tokenFile)
	if code != exitOK || !strings.Contains(out, "serving   0123456789ab") {
		t.Errorf("with the token: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv("EDGE_STATUS_TOKEN_FILE", tokenFile)
	code, out, errOut = runCmd("status", "--admin", strings.TrimPrefix(srv.URL, "http://"), "--json")
	if code != exitOK || strings.Contains(out+errOut, token) {
		t.Errorf("token from EDGE_STATUS_TOKEN_FILE: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCmd("status", "--admin", "dns:edge.internal:9443"); code != exitUsage || !strings.Contains(errOut, "--fleet") {
		t.Errorf("--admin dns:...: exit %d %q; want 2 pointing at --fleet", code, errOut)
	}
}
