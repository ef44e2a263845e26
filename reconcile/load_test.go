package reconcile_test

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/schema"
)

// readsDuringLoad is a Loader that, after each load, waits (at most 10 s) until the key
// source has made more reads than before the load, when told to: the reads of a load's
// keys start while it runs, so they come without a Sync.
type readsDuringLoad struct {
	reconcile.Loader
	keys   *fakeKeys
	expect bool   // wait for reads after the next load
	seen   []bool // per load: reads came while the load was waited on
}

func (l *readsDuringLoad) LoadContext(ctx context.Context, fsys fs.FS) (*schema.Config, error) {
	before := l.reads()
	cfg, err := l.Loader.LoadContext(ctx, fsys)
	got := false
	if l.expect {
		for deadline := time.Now().Add(10 * time.Second); !got && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			got = l.reads() > before
		}
	}
	l.seen = append(l.seen, got)
	return cfg, err
}

func (l *readsDuringLoad) reads() int {
	l.keys.mu.Lock()
	defer l.keys.mu.Unlock()
	return l.keys.reads
}

// TestFirstLoadReadsKeys: the agent's first load reads the sites' keys while it runs, and
// the compile after it reads none of them again; a missing key still fails its site alone,
// with the key's error; a first load that fails keeps nothing it read, and loads after the
// first read no key while they run.
func TestFirstLoadReadsKeys(t *testing.T) {
	w, loader := newPrefetchWorld(t)
	for _, s := range []string{"alpha", "beta", "gamma"} {
		w.site(s, 1)
	}
	delete(w.keys.keys, "edge/gamma")

	// A first commit with a broken file: rejected at the file's position, what was read
	// is dropped.
	files := fstest.MapFS{"sites/broken.cue": {Data: []byte("package edge\n\nsites: broken: {\n")}}
	for f, d := range w.sites["alpha"] {
		files[f] = d
	}
	w.head("bad", files)
	if err := w.agent.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := w.agent.Status()
	if st.Rejected == nil || !strings.Contains(st.Rejected.Errors.Error(), "sites/broken.cue:") {
		t.Fatalf("first commit: rejected %+v; want sites/broken.cue with its position", st.Rejected)
	}
	if !loader.seen[0] {
		t.Fatal("no key was read while the first load ran")
	}

	// The next load is not the first: its keys are read after it, each once.
	loader.expect = false
	readsBefore := loader.reads()
	w.commit("c1", "alpha", "beta", "gamma")
	w.check(1, w.agent.Step(context.Background()), stepWant{outcome: reconcile.PollPartial, serving: "c1",
		published: []string{"alpha", "beta"}, keyReads: readsBefore + 3,
		sites: map[string]reconcile.SiteState{"alpha": reconcile.SiteServing, "beta": reconcile.SiteServing, "gamma": reconcile.SiteFailed}})
	if g := siteState(w.agent.Status(), "gamma"); !strings.Contains(g.Error, "key not found") {
		t.Errorf("gamma: error %q; want its key not found", g.Error)
	}
}

// TestFirstLoadKeysAreNotReadTwice: the keys the first load read are the compile's: one
// read per key in all.
func TestFirstLoadKeysAreNotReadTwice(t *testing.T) {
	w, loader := newPrefetchWorld(t)
	w.commit("c1", "alpha", "beta", "gamma")
	delete(w.keys.keys, "edge/gamma")
	w.check(0, w.agent.Step(context.Background()), stepWant{outcome: reconcile.PollPartial, serving: "c1",
		published: []string{"alpha", "beta"}, keyReads: 3,
		sites: map[string]reconcile.SiteState{"alpha": reconcile.SiteServing, "beta": reconcile.SiteServing, "gamma": reconcile.SiteFailed}})
	if !loader.seen[0] {
		t.Error("no key was read while the first load ran")
	}
	if g := siteState(w.agent.Status(), "gamma"); !strings.Contains(g.Error, "site gamma (sites/gamma.cue): key secret/edge/gamma") {
		t.Errorf("gamma: error %q; want its key named", g.Error)
	}
}

// newPrefetchWorld is a step world whose agent loads through a readsDuringLoad that
// expects the first load to read the keys.
func newPrefetchWorld(t *testing.T) (*stepWorld, *readsDuringLoad) {
	t.Helper()
	w := newStepWorld(t, 0)
	loader := &readsDuringLoad{Loader: schema.NewLoader(schema.LoaderOptions{}), keys: w.keys, expect: true}
	var err error
	w.agent, err = reconcile.NewAgent(reconcile.AgentOptions{Source: w.src, Loader: loader, Keys: w.keys, Publisher: w.pub,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return w, loader
}
