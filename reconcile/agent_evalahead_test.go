package reconcile_test

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"testing"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/schema"
)

// aheadLoader is a schema.Loader recording its reads ahead of the cache and its loads.
type aheadLoader struct {
	*schema.Loader
	log *eventLog
}

func (l aheadLoader) ReadEvalCacheAhead() {
	l.log.add("read ahead")
	l.Loader.ReadEvalCacheAhead()
}

func (l aheadLoader) LoadContext(ctx context.Context, fsys fs.FS) (*schema.Config, error) {
	l.log.add("load")
	return l.Loader.LoadContext(ctx, fsys)
}

// TestAgentReadsEvalCacheAhead: the agent has its loader read the evaluation cache once,
// at its first step, before the first load (while it restores its state or clones), and
// serves what the loader then loads.
func TestAgentReadsEvalCacheAhead(t *testing.T) {
	e := newAgentEnv(t)
	e.site("alpha", true, "")
	e.repo.Commit("alpha", nil)
	log := &eventLog{}
	src, err := gitsource.New(gitsource.Options{URL: e.repo.Bare, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	loader := aheadLoader{Loader: schema.NewLoader(schema.LoaderOptions{LenientExpiry: true, CacheDir: t.TempDir()}), log: log}
	a, err := reconcile.NewAgent(reconcile.AgentOptions{Source: src, Loader: loader, Keys: e.keys,
		Publisher: e.srv, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.site("beta", true, "")
	e.repo.Commit("beta", nil)
	if err := a.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := a.Status(); st.LastPoll.Outcome != reconcile.PollApplied || len(st.Sites) != 2 {
		t.Fatalf("outcome %s, %d sites; want applied, 2", st.LastPoll.Outcome, len(st.Sites))
	}
	if want := []string{"read ahead", "load", "load"}; !slices.Equal(log.events, want) {
		t.Fatalf("events %q; want %q", log.events, want)
	}
}
