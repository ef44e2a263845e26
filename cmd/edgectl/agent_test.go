package main

import (
	"bytes"
	"strings"
	"testing"
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
