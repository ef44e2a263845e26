package main

import (
	"bytes"
	"flag"
	"io"
	"log"
	"log/slog"
	"os"
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

// TestStdLogThroughAgentLogger: a library's standard-log line (quic-go's UDP buffer
// warning) comes out as a JSON record at WARN, kept by a logger at warn.
func TestStdLogThroughAgentLogger(t *testing.T) {
	old, oldFlags := slog.Default(), log.Flags()
	t.Cleanup(func() {
		slog.SetDefault(old)
		slog.SetLogLoggerLevel(slog.LevelInfo)
		log.SetOutput(os.Stderr) // SetDefault of the default handler leaves the bridge
		log.SetFlags(oldFlags)
	})
	var buf bytes.Buffer
	lg, err := newLogger(&buf, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	routeStdLog(lg)
	log.Printf("failed to sufficiently increase receive buffer size")
	out := buf.String()
	if !strings.Contains(out, `"level":"WARN"`) || !strings.Contains(out, `"msg":"failed to sufficiently increase receive buffer size"`) {
		t.Errorf("the standard log's line came out as %q", out)
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

// parseAgentFlags parses args (and the EDGE_* environment) as the agent's flags.
func parseAgentFlags(args ...string) (agentConfig, error) {
	f := flag.NewFlagSet("agent", flag.ContinueOnError)
	f.SetOutput(io.Discard)
	var c agentConfig
	var v agentFlagValues
	defineAgentFlags(f, &c, &v)
	if err := f.Parse(args); err != nil {
		return c, err
	}
	return c, envFallbacks(f)
}

// TestGitMaxRefFlags: --git-max-ref-bytes (EDGE_GIT_MAX_REF_BYTES, a size of at least 64 KiB)
// and --git-max-refs (EDGE_GIT_MAX_REFS, a count of at least 100) reach the git source's
// bounds; less, or no number, is a usage error.
func TestGitMaxRefFlags(t *testing.T) {
	if c, err := parseAgentFlags("--git-max-ref-bytes", "4MiB", "--git-max-refs", "5000"); err != nil || c.GitMaxRefBytes != 4<<20 || c.GitMaxRefs != 5000 {
		t.Errorf("--git-max-ref-bytes 4MiB --git-max-refs 5000: %d, %d, %v; want %d, 5000", c.GitMaxRefBytes, c.GitMaxRefs, err, 4<<20)
	}
	if c, err := parseAgentFlags(); err != nil || c.GitMaxRefBytes != 0 || c.GitMaxRefs != 0 {
		t.Errorf("no flag: %d, %d, %v; want 0, 0 (the source's defaults)", c.GitMaxRefBytes, c.GitMaxRefs, err)
	}
	t.Setenv("EDGE_GIT_MAX_REF_BYTES", "64KiB")
	t.Setenv("EDGE_GIT_MAX_REFS", "100")
	if c, err := parseAgentFlags(); err != nil || c.GitMaxRefBytes != 64<<10 || c.GitMaxRefs != 100 {
		t.Errorf("EDGE_GIT_MAX_REF_BYTES=64KiB EDGE_GIT_MAX_REFS=100: %d, %d, %v; want %d, 100", c.GitMaxRefBytes, c.GitMaxRefs, err, 64<<10)
	}
	for _, bad := range []string{"63KiB", "lots", "-5MiB", "0"} {
		if _, err := parseAgentFlags("--git-max-ref-bytes", bad); err == nil {
			t.Errorf("--git-max-ref-bytes %s accepted; want an error", bad)
		}
	}
	for _, bad := range []string{"99", "1MiB", "-5", "0", "many"} {
		if _, err := parseAgentFlags("--git-max-refs", bad); err == nil {
			t.Errorf("--git-max-refs %s accepted; want an error", bad)
		}
	}
}

// TestGitMaxPackFlag: --git-max-pack (or EDGE_GIT_MAX_PACK) takes a size of at least 1 MiB
// and reaches the git source's bound; less, or no size, is a usage error.
func TestGitMaxPackFlag(t *testing.T) {
	if c, err := parseAgentFlags("--git-max-pack", "256MiB"); err != nil || c.GitMaxPack != 256<<20 {
		t.Errorf("--git-max-pack 256MiB: %d, %v; want %d", c.GitMaxPack, err, 256<<20)
	}
	if c, err := parseAgentFlags(); err != nil || c.GitMaxPack != 0 {
		t.Errorf("no flag: %d, %v; want 0 (the source's default)", c.GitMaxPack, err)
	}
	t.Setenv("EDGE_GIT_MAX_PACK", "2GiB")
	if c, err := parseAgentFlags(); err != nil || c.GitMaxPack != 2<<30 {
		t.Errorf("EDGE_GIT_MAX_PACK=2GiB: %d, %v; want %d", c.GitMaxPack, err, 2<<30)
	}
	for _, bad := range []string{"1KiB", "lots", "-5MiB"} {
		if _, err := parseAgentFlags("--git-max-pack", bad); err == nil {
			t.Errorf("--git-max-pack %s accepted; want an error", bad)
		}
	}
}
