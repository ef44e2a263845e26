package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edgectl/edge/reconcile"
)

func TestNewLoggerLevelAndFormat(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, `"msg":"shown"`) {
		t.Errorf("json logger at warn wrote:\n%s", out)
	}
	buf.Reset()
	if log, err = newLogger(&buf, "text", "DEBUG"); err != nil {
		t.Fatal(err)
	}
	log.Debug("detail")
	if !strings.Contains(buf.String(), "level=DEBUG msg=detail") {
		t.Errorf("text logger at debug wrote %q", buf.String())
	}
	for _, bad := range [][2]string{{"xml", "info"}, {"text", "verbose"}} {
		if _, err := newLogger(&buf, bad[0], bad[1]); err == nil {
			t.Errorf("newLogger(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestAgentWebhookListenNeedsSecret(t *testing.T) {
	code, _, errOut := runCmd("agent", "--repo", t.TempDir(), "--key-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--http-listen", "off", "--admin", "off", "--webhook-listen", "127.0.0.1:0")
	if code != exitUsage || !strings.Contains(errOut, "--webhook-listen needs --webhook-secret-file") {
		t.Errorf("exit %d, stderr %q; want 2 naming the missing secret", code, errOut)
	}
}

// TestEnvFallbacks: a flag not given takes its variable's value, checked like the flag's
// own (a bad value is a usage error naming the variable); a flag given wins.
func TestEnvFallbacks(t *testing.T) {
	t.Setenv("EDGE_INTERVAL", "soon")
	code, _, errOut := runCmd("agent", "--repo", t.TempDir(), "--key-dir", t.TempDir(), "--admin", "off")
	if code != exitUsage || !strings.Contains(errOut, `EDGE_INTERVAL="soon" (--interval)`) {
		t.Errorf("bad EDGE_INTERVAL: exit %d, stderr %q; want 2 naming the variable", code, errOut)
	}

	admin := statusServer(t, reconcile.Status{Sites: []reconcile.SiteStatus{{Name: "acme", State: reconcile.SiteServing}}})
	t.Setenv("EDGE_ADMIN_LISTEN", admin)
	if code, out, errOut := runCmd("status"); code != exitOK || !strings.Contains(out, "acme") {
		t.Errorf("status with EDGE_ADMIN_LISTEN: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := runCmd("status", "--admin", "127.0.0.1:1"); code != exitUsage {
		t.Errorf("status --admin 127.0.0.1:1 with EDGE_ADMIN_LISTEN set: exit %d; want 2 (the flag wins)", code)
	}
}

// TestAgentHTTP2ServerFlag: --http2-server takes go or edge; anything else is a usage
// error naming the choices.
func TestAgentHTTP2ServerFlag(t *testing.T) {
	code, _, errOut := runCmd("agent", "--repo", t.TempDir(), "--key-dir", t.TempDir(), "--admin", "off", "--http2-server", "nginx")
	if code != exitUsage || !strings.Contains(errOut, `unknown HTTP/2 server "nginx"`) {
		t.Errorf("--http2-server nginx: exit %d, stderr %q; want 2 naming the choices", code, errOut)
	}
}
