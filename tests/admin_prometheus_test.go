package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// TestAgentAdminPrometheusScrape runs a real Prometheus against the agent binary with
// EDGE_ADMIN_TOKEN_FILE: the job with `authorization: credentials_file:` (the config the
// docs give) scrapes /metrics, the job without it is refused with 401.
func TestAgentAdminPrometheusScrape(t *testing.T) {
	prom := testenv.NeedTool(t, "prometheus", "prometheus")
	d := newDirRepo(t)
	d.add("alpha")
	tokenFile := writeFile0600(t, "admin-token", []byte("9d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a\n"))
	p := startAgentProc(t, d.ca, []string{"EDGE_ADMIN_TOKEN_FILE=" + tokenFile}, "--repo", d.git.URL, "--interval", "1h", "--key-dir", d.keyDir)

	dir := t.TempDir()
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: edge
    authorization:
      credentials_file: %s
    static_configs: [{targets: [%q]}]
  - job_name: edge-no-token
    static_configs: [{targets: [%q]}]
`, tokenFile, p.admin, p.admin)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	web := freeAddr(t)
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web, "--log.level=warn")
	var out testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})

	var health map[string]string
	var lastErr map[string]string
	took := p.waitFor("both jobs scraped", 60*time.Second, func() bool {
		health, lastErr = promTargets(web)
		return health["edge"] != "" && health["edge"] != "unknown" && health["edge-no-token"] != "" && health["edge-no-token"] != "unknown"
	})
	if health["edge"] != "up" {
		t.Errorf("job edge (credentials_file): %s, %q; want up", health["edge"], lastErr["edge"])
	}
	if health["edge-no-token"] != "down" || !strings.Contains(lastErr["edge-no-token"], "401") {
		t.Errorf("job edge-no-token: %s, %q; want down with a 401", health["edge-no-token"], lastErr["edge-no-token"])
	}
	t.Logf("both jobs scraped %v after Prometheus started; edge-no-token: %s", took.Round(time.Millisecond), lastErr["edge-no-token"])
}

// promTargets returns the health ("up", "down", "unknown") and last error of each job's
// target from the Prometheus API at addr; nil maps while it does not answer.
func promTargets(addr string) (health, lastErr map[string]string) {
	resp, err := http.Get("http://" + addr + "/api/v1/targets?state=active")
	if err != nil {
		return nil, nil
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			ActiveTargets []struct {
				ScrapePool string `json:"scrapePool"`
				Health     string `json:"health"`
				LastError  string `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil {
		return nil, nil
	}
	health, lastErr = map[string]string{}, map[string]string{}
	for _, tg := range body.Data.ActiveTargets {
		health[tg.ScrapePool], lastErr[tg.ScrapePool] = tg.Health, tg.LastError
	}
	return health, lastErr
}
