package reconcile_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// flakyKeys fails the reads of the key paths containing a string of fail.
type flakyKeys struct {
	keysource.Source
	mu   sync.Mutex
	fail []string
}

func (k *flakyKeys) Fetch(ctx context.Context, ref schema.KeyRef) (keysource.Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, f := range k.fail {
		if strings.Contains(ref.Path, f) {
			return keysource.Key{}, errors.New("key store sealed")
		}
	}
	return k.Source.Fetch(ctx, ref)
}

func (k *flakyKeys) setFail(f ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fail = f
}

// TestAgentUnchangedSiteFollowsItsKey: a commit changing one site plans the unchanged ones
// again from the last compile (reusePlan), which must not hide what happened to their keys
// meanwhile: beta's declaration is the same object from commit to commit (the loader loads
// only the changed file), and its key's refresh first fails (status says so, the last good
// key serves), then succeeds (the error is gone, on a poll of the same commit).
func TestAgentUnchangedSiteFollowsItsKey(t *testing.T) {
	e := newAgentEnv(t)
	keys := &flakyKeys{Source: keysource.Dir{Dir: e.keyDir}}
	e.tweak = func(o *reconcile.AgentOptions) {
		o.Keys = keys
		o.KeyRefresh = time.Nanosecond // every key is due again at every compile
	}
	e.boot(gitsource.Options{URL: e.repo.Bare})
	e.site("alpha", true, "")
	e.site("beta", true, "")
	e.repo.Commit("two sites", nil)
	st := e.step()
	if s := siteState(st, "beta"); s.State != reconcile.SiteServing || s.Error != "" {
		t.Fatalf("beta after the first commit: %+v; want serving without error", s)
	}

	keys.setFail("beta")
	e.site("alpha", true, "") // a new certificate and key: alpha's file changes
	e.repo.Commit("alpha again", nil)
	st = e.step()
	s := siteState(st, "beta")
	if s.State != reconcile.SiteServing || !strings.Contains(s.Error, "key refresh failed") || !strings.Contains(s.Error, "key store sealed") {
		t.Fatalf("beta while its key store fails: %+v; want serving with the refresh error", s)
	}
	e.mustServe("beta")

	// Once the key store answers again, the read retried after its backoff (1 s) clears the
	// error; beta's declaration is the very one planned before, and the same for alpha.
	keys.setFail()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s = siteState(e.step(), "beta")
		if s.State == reconcile.SiteServing && s.Error == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("beta 10 s after its key store answers again: %+v; want serving without error", s)
		}
	}
	e.mustServe("alpha")
	e.mustServe("beta")
}

// TestAgentUnchangedSiteKeepsItsStatus: with keys that do not change, the unchanged site's
// status after a one-site commit is the one it had, field for field (its commit included),
// and no key is read for it.
func TestAgentUnchangedSiteKeepsItsStatus(t *testing.T) {
	e := newAgentEnv(t)
	e.site("alpha", true, "")
	e.site("beta", true, "")
	e.repo.Commit("two sites", nil)
	before := siteState(e.step(), "beta")
	reads := e.keys.reads.Load()

	e.repo.Commit("alpha changed", map[string][]byte{"sites/alpha.cue": []byte(strings.Replace(
		string(mustRead(t, e.repo.Dir+"/sites/alpha.cue")), "\n", "\n// changed\n", 1))})
	st := e.step()
	after := siteState(st, "beta")
	if after.Name != before.Name || after.Commit != before.Commit || after.State != before.State || after.Error != before.Error ||
		!after.NotAfter.Equal(before.NotAfter) || after.KeyVersion != before.KeyVersion || strings.Join(after.Hosts, ",") != strings.Join(before.Hosts, ",") {
		t.Errorf("beta after alpha's commit: %+v; want as before: %+v", after, before)
	}
	if n := e.keys.reads.Load(); n != reads {
		t.Errorf("key reads: %d after alpha's commit, %d before; want none", n, reads)
	}
	if st.LastPoll.Outcome != "applied" {
		t.Errorf("outcome %s; want applied", st.LastPoll.Outcome)
	}
	e.mustServe("beta")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
