package reconcile_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/schema"
)

// eventLog records the order of publishes and evaluation cache writes.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(e string) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

type loggingPublisher struct {
	reconcile.Publisher
	log *eventLog
}

func (p loggingPublisher) Publish(gen uint64, commit string, sites []*edge.Site) error {
	p.log.add("publish")
	return p.Publisher.Publish(gen, commit, sites)
}

// cacheLoader is a schema.Loader with a deferred evaluation cache, recording its writes.
type cacheLoader struct {
	*schema.Loader
	log   *eventLog
	cache string
}

func (l cacheLoader) WriteEvalCache() {
	l.Loader.WriteEvalCache()
	if _, err := os.Stat(filepath.Join(l.cache, schema.EvalCacheFile)); err == nil {
		l.log.add("cache written")
	}
}

// TestAgentWritesEvalCacheAfterPublish: with a loader that defers its evaluation cache, the
// agent writes the cache once the new snapshot is published, not before.
func TestAgentWritesEvalCacheAfterPublish(t *testing.T) {
	e := newAgentEnv(t)
	e.site("alpha", true, "")
	e.repo.Commit("alpha", nil)
	cache := t.TempDir()
	log := &eventLog{}
	src, err := gitsource.New(gitsource.Options{URL: e.repo.Bare, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	loader := cacheLoader{Loader: schema.NewLoader(schema.LoaderOptions{LenientExpiry: true, CacheDir: cache, DeferCacheWrite: true}), log: log, cache: cache}
	a, err := reconcile.NewAgent(reconcile.AgentOptions{Source: src, Loader: loader, Keys: e.keys,
		Publisher: loggingPublisher{e.srv, log}, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := a.Status(); st.LastPoll.Outcome != reconcile.PollApplied {
		t.Fatalf("outcome %s; want applied", st.LastPoll.Outcome)
	}
	if len(log.events) != 2 || log.events[0] != "publish" || log.events[1] != "cache written" {
		t.Fatalf("events %q; want the publish, then the cache written", log.events)
	}
}
