// The systemd deployment: agent.env names real agent variables; edge.service is hardened
// and passes systemd-analyze.

package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/edgectl/edge/tests/testenv"
)

func TestExampleAgentEnv(t *testing.T) {
	known := agentEnvNames(t)
	src := exReadFile(t, filepath.Join(exRepoRoot(t), "examples", "deploy", "agent.env"))
	set := 0
	for i, line := range strings.Split(src, "\n") {
		// Settings and commented-out settings (#NAME=value) must both be real variables.
		m := regexp.MustCompile(`^#?([A-Z][A-Z0-9_]*)=`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			set++
		}
		if !known[m[1]] {
			t.Errorf("agent.env:%d: %s is not a variable of edgectl agent", i+1, m[1])
		}
	}
	if set == 0 || !strings.Contains(src, "\nEDGE_REPO=") {
		t.Errorf("agent.env sets %d variables; want at least EDGE_REPO", set)
	}
}

// unitDirectives returns the directives of a unit file: name -> values in order.
func unitDirectives(src string) map[string][]string {
	d := map[string][]string{}
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		d[k] = append(d[k], v)
	}
	return d
}

func TestExampleSystemdUnit(t *testing.T) {
	unit := exReadFile(t, filepath.Join(exRepoRoot(t), "examples", "deploy", "edge.service"))
	d := unitDirectives(unit)
	for k, want := range map[string]string{
		"ExecStart":               "/usr/local/bin/edgectl agent",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"EnvironmentFile":         "/etc/edge/agent.env",
		"Restart":                 "on-failure",
		"DynamicUser":             "yes",
		"AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
	} {
		if got := d[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q; want %q", k, got, want)
		}
	}
	if !exContains(d["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter=%q; want @system-service", d["SystemCallFilter"])
	}
	if n, err := strconv.Atoi(strings.Join(d["LimitNOFILE"], "")); err != nil || n < 65536 {
		t.Errorf("LimitNOFILE=%q; want at least 65536", d["LimitNOFILE"])
	}

	analyze := testenv.NeedTool(t, "systemd-analyze", "systemd")
	// verify needs ExecStart's binary to exist: point it at the edgectl the image would hold.
	dir := t.TempDir()
	unitPath := filepath.Join(dir, "edge.service")
	bin := exEdgectl(t)
	if err := os.WriteFile(unitPath, []byte(strings.ReplaceAll(unit, "/usr/local/bin/edgectl", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unitPath).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify edge.service: %v\n%s", err, out)
	}

	// The exposure score systemd computes from the sandboxing settings (0 best, 10 worst).
	out, err = exec.Command(analyze, "security", "--offline=yes", unitPath).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for edge\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security --offline=yes: %v\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f (0 = fully sandboxed, 10 = unprotected)", score)
	if score > 2.0 {
		t.Errorf("exposure level %.1f; want at most 2.0 (\"OK\")\n%s", score, out)
	}
}
