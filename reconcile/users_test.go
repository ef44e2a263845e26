package reconcile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgectl/edge/reconcile"
)

// TestAgentBasicAuthWithoutUsersSource: an agent without a users source (a local key
// directory) fails a site with basic_auth, saying why, and serves the others.
func TestAgentBasicAuthWithoutUsersSource(t *testing.T) {
	e := newAgentEnv(t)
	e.site("alpha", true, "")
	e.site("beta", true, "")
	file := filepath.Join(e.repo.Dir, "sites", "beta.cue")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	guarded := strings.Replace(string(b), "\troutes: \"/\": upstreams:", "\troutes: \"/\": basic_auth: users: path: \"edge-auth/beta\"\n\troutes: \"/\": upstreams:", 1)
	if guarded == string(b) {
		t.Fatal("site file not as expected")
	}
	e.repo.Commit("alpha, and beta with basic auth", map[string][]byte{"sites/beta.cue": []byte(guarded)})
	st := e.step()
	e.mustServe("alpha")
	beta := siteState(st, "beta")
	if beta.State != reconcile.SiteFailed || !strings.Contains(beta.Error, "basic_auth needs the users from Vault") {
		t.Errorf("beta: %s %q; want failed, saying basic_auth needs Vault", beta.State, beta.Error)
	}
	e.mustRefuse("beta")
}
