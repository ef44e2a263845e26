package testenv

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Prometheus is a real Prometheus server (Debian package prometheus) run by a test.
type Prometheus struct {
	// Addr is its web listener's host:port.
	Addr string
}

// StartPrometheus runs prometheus with config (a prometheus.yml; paths in it must be
// absolute) and a fresh data directory; it is stopped when the test ends. When prometheus
// is missing the test is skipped, or fails when CI=true.
func StartPrometheus(t testing.TB, config string) *Prometheus {
	t.Helper()
	bin := NeedTool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Prometheus{Addr: l.Addr().String()}
	l.Close()
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+p.Addr, "--log.level=warn")
	StartProcess(t, "prometheus", cmd, &SyncBuffer{})
	return p
}

// PromSample is one series of an instant query's result.
type PromSample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

// Query evaluates expr now; err is set when Prometheus does not answer or refuses it.
func (p *Prometheus) Query(expr string) ([]PromSample, error) {
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []PromSample `json:"result"`
		} `json:"data"`
	}
	status, err := p.get("/api/v1/query?query="+url.QueryEscape(expr), &r)
	if err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", status, r.Error)
	}
	return r.Data.Result, nil
}

// Targets returns the health ("up", "down", "unknown") and last scrape error of each
// job's target; nil maps while Prometheus does not answer.
func (p *Prometheus) Targets() (health, lastErr map[string]string) {
	var r struct {
		Data struct {
			ActiveTargets []struct {
				ScrapePool string `json:"scrapePool"`
				Health     string `json:"health"`
				LastError  string `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if _, err := p.get("/api/v1/targets?state=active", &r); err != nil {
		return nil, nil
	}
	health, lastErr = map[string]string{}, map[string]string{}
	for _, tg := range r.Data.ActiveTargets {
		health[tg.ScrapePool], lastErr[tg.ScrapePool] = tg.Health, tg.LastError
	}
	return health, lastErr
}

// get decodes the JSON answer to GET path into v and returns the response status.
func (p *Prometheus) get(path string, v any) (string, error) {
	resp, err := http.Get("http://" + p.Addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return resp.Status, fmt.Errorf("%s: %w", resp.Status, err)
	}
	return resp.Status, nil
}
