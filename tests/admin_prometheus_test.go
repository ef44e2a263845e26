package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testenv"
)

// TestAgentAdminPrometheusScrape runs a real Prometheus against the agent binary with
// EDGE_ADMIN_TOKEN_FILE: the job with `authorization: credentials_file:` (the config the
// docs give) scrapes /metrics, the job without it is refused with 401.
func TestAgentAdminPrometheusScrape(t *testing.T) {
	d := newDirRepo(t)
	d.add("alpha")
	tokenFile := writeFile0600(t, "admin-token", []byte("9d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a\n"))
	p := startAgentProc(t, d.ca, []string{"EDGE_ADMIN_TOKEN_FILE=" + tokenFile}, "--repo", d.git.URL, "--interval", "1h", "--key-dir", d.keyDir)

	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: edge
    authorization:
      credentials_file: %s
    static_configs: [{targets: [%q]}]
  - job_name: edge-no-token
    static_configs: [{targets: [%q]}]
`, tokenFile, p.admin, p.admin)
	prom := testenv.StartPrometheus(t, cfg)

	var health map[string]string
	var lastErr map[string]string
	took := p.waitFor("both jobs scraped", 60*time.Second, func() bool {
		health, lastErr = prom.Targets()
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
