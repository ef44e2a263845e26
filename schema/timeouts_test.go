package schema_test

import (
	"testing"
	"time"
)

// TestBodyTimeout: timeouts.body is read on a route and as the repo default, like the
// other route timeouts.
func TestBodyTimeout(t *testing.T) {
	cfg, _ := loadValidCase(t, "body-timeout")
	got := map[string]time.Duration{}
	for _, r := range cfg.Sites[0].Routes {
		got[r.Path] = r.Timeouts.Body
	}
	if got["/"] != 45*time.Second || got["/upload"] != 5*time.Minute {
		t.Errorf("body timeouts %v; want / 45s (repo default), /upload 5m", got)
	}
}
