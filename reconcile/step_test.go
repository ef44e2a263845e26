package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
)

// The tests of this file drive Agent.Step with in-memory fakes of the git source, the key
// source and the publisher, and the real schema loader on in-memory files: no repo, no
// server. agent_test.go runs the same agent against a real git repo and a real edge server.

// fakeSource is a Source whose remote is a map of commits to files, at the commit head.
type fakeSource struct {
	mu    sync.Mutex
	files map[string]fs.FS // by commit
	head  string
	err   error  // returned by Poll instead, when set
	last  string // the commit the previous successful Poll returned
}

func (s *fakeSource) Poll(context.Context) (*gitsource.Revision, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, false, s.err
	}
	changed := s.head != s.last
	s.last = s.head
	return &gitsource.Revision{Commit: s.head, FS: s.files[s.head]}, changed, nil
}

// fakeKeys is a key source holding a key, or an error, per key path.
type fakeKeys struct {
	mu    sync.Mutex
	keys  map[string]keysource.Key
	errs  map[string]error
	reads int
	paths []string // the key paths read, in order
}

func (k *fakeKeys) Fetch(_ context.Context, ref schema.KeyRef) (keysource.Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reads++
	k.paths = append(k.paths, ref.Path)
	if err := k.errs[ref.Path]; err != nil {
		return keysource.Key{}, err
	}
	if key, ok := k.keys[ref.Path]; ok {
		return key, nil
	}
	return keysource.Key{}, keysource.ErrNotFound
}

// fakePublisher records what it is asked to publish; refuse makes it fail while a site of
// that name is among the sites.
type fakePublisher struct {
	mu         sync.Mutex
	publishes  int
	generation uint64
	commit     string
	sites      []string
	last       []*edge.Site // the sites of the last publish
	refuse     string
}

func (p *fakePublisher) Publish(generation uint64, commit string, sites []*edge.Site) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, len(sites))
	for i, s := range sites {
		names[i] = s.Name
	}
	if p.refuse != "" && slices.Contains(names, p.refuse) {
		return errors.New("conflicting sites")
	}
	p.publishes++
	p.generation, p.commit, p.sites, p.last = generation, commit, names, sites
	return nil
}

// stepWorld is an agent between the fakes, and the sites its commits are made of.
type stepWorld struct {
	t     *testing.T
	ca    *testca.CA
	sites map[string]fstest.MapFS // each site's two files, by name
	src   *fakeSource
	keys  *fakeKeys
	pub   *fakePublisher
	agent *reconcile.Agent
}

func newStepWorld(t *testing.T, keyRefresh time.Duration) *stepWorld {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	w := &stepWorld{t: t, ca: ca, sites: map[string]fstest.MapFS{},
		src:  &fakeSource{files: map[string]fs.FS{}},
		keys: &fakeKeys{keys: map[string]keysource.Key{}, errs: map[string]error{}},
		pub:  &fakePublisher{}}
	w.agent, err = reconcile.NewAgent(reconcile.AgentOptions{
		Source: w.src, Loader: schema.NewLoader(schema.LoaderOptions{}), Keys: w.keys, Publisher: w.pub,
		KeyRefresh: keyRefresh, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// site issues a new certificate and key (version v) for site name, used by the commits
// made after it.
func (w *stepWorld) site(name string, v int) {
	w.t.Helper()
	dir := w.t.TempDir()
	g, err := sitegen.WriteSite(dir, sitegen.Site{Name: name, Hosts: []string{name + ".example.test"},
		Upstreams: []string{"http://127.0.0.1:3001"}}, sitegen.Options{CA: w.ca})
	if err != nil {
		w.t.Fatal(err)
	}
	files := fstest.MapFS{}
	for _, f := range []string{g.File, g.CertFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			w.t.Fatal(err)
		}
		files[f] = &fstest.MapFile{Data: b}
	}
	w.sites[name] = files
	w.keys.keys["edge/"+name] = keysource.Key{PEM: g.Leaf.KeyPEM, Version: v}
}

// commit makes commit c of the given sites (as last issued) the remote's head.
func (w *stepWorld) commit(c string, sites ...string) {
	files := fstest.MapFS{}
	for _, name := range sites {
		if w.sites[name] == nil {
			w.site(name, 1)
		}
		for f, data := range w.sites[name] {
			files[f] = data
		}
	}
	w.head(c, files)
}

// head makes commit c, with these files, the remote's head.
func (w *stepWorld) head(c string, files fs.FS) {
	w.src.mu.Lock()
	defer w.src.mu.Unlock()
	w.src.files[c], w.src.head = files, c
}

// stepWant is what a step must come to. Empty fields are not checked.
type stepWant struct {
	err       bool
	outcome   reconcile.PollOutcome
	serving   string                         // Status.Serving.Commit
	rejected  string                         // Status.Rejected.Commit; "-" for none
	sites     map[string]reconcile.SiteState // every site of Status.Sites
	published []string                       // the sites of the last publish, in order
	publishes int                            // how many publishes so far
	keyReads  int                            // how many key reads so far
	history   []string                       // Status.History, newest first, as histLine writes it
}

// stepCase is one step: what changes first, and what the step must come to.
type stepCase struct {
	do   func(w *stepWorld)
	want stepWant
}

func TestStep(t *testing.T) {
	serving := reconcile.SiteServing
	tests := []struct {
		name       string
		keyRefresh time.Duration
		steps      []stepCase
	}{
		{name: "applied", steps: []stepCase{
			{do: func(w *stepWorld) { w.commit("c1", "alpha", "beta") },
				want: stepWant{outcome: reconcile.PollApplied, serving: "c1", rejected: "-", publishes: 1, keyReads: 2,
					sites: map[string]reconcile.SiteState{"alpha": serving, "beta": serving}, published: []string{"alpha", "beta"}}},
		}},
		{name: "unchanged commit", steps: []stepCase{
			{do: func(w *stepWorld) { w.commit("c1", "alpha") }, want: stepWant{outcome: reconcile.PollApplied, publishes: 1, keyReads: 1}},
			{want: stepWant{outcome: reconcile.PollUnchanged, serving: "c1", publishes: 1, keyReads: 1,
				sites: map[string]reconcile.SiteState{"alpha": serving}}},
		}},
		{name: "new commit with an unchanged site reads no key", steps: []stepCase{
			{do: func(w *stepWorld) { w.commit("c1", "alpha") }, want: stepWant{outcome: reconcile.PollApplied, keyReads: 1}},
			{do: func(w *stepWorld) { w.commit("c2", "alpha", "beta") },
				want: stepWant{outcome: reconcile.PollApplied, serving: "c2", publishes: 2, keyReads: 2, published: []string{"alpha", "beta"},
					history: []string{"applied c2 +1 ~0 -0 !0", "applied c1 +1 ~0 -0 !0"}}},
			{do: func(w *stepWorld) { w.site("alpha", 2); w.commit("c3", "alpha") },
				want: stepWant{outcome: reconcile.PollApplied, serving: "c3",
					history: []string{"applied c3 +0 ~1 -1 !0", "applied c2 +1 ~0 -0 !0", "applied c1 +1 ~0 -0 !0"}}},
			{want: stepWant{outcome: reconcile.PollUnchanged, history: []string{"applied c3 +0 ~1 -1 !0", "applied c2 +1 ~0 -0 !0", "applied c1 +1 ~0 -0 !0"}}},
		}},
		{name: "rejected commit keeps the last good", steps: []stepCase{
			{do: func(w *stepWorld) { w.commit("c1", "alpha") }, want: stepWant{outcome: reconcile.PollApplied}},
			{do: func(w *stepWorld) {
				w.head("bad", fstest.MapFS{"sites/alpha.cue": {Data: []byte("package edge\n\nsites: alpha: {\n")}})
			}, want: stepWant{outcome: reconcile.PollRejected, serving: "c1", rejected: "bad", publishes: 1, published: []string{"alpha"},
				sites: map[string]reconcile.SiteState{"alpha": serving}}},
			{want: stepWant{outcome: reconcile.PollUnchanged, serving: "c1", rejected: "bad", publishes: 1,
				history: []string{"rejected bad +0 ~0 -0 !0 sites/alpha.cue:", "applied c1 +1 ~0 -0 !0"}}},
			{do: func(w *stepWorld) { w.commit("c3", "alpha", "beta") },
				want: stepWant{outcome: reconcile.PollApplied, serving: "c3", rejected: "-", publishes: 2,
					history: []string{"applied c3 +1 ~0 -0 !0", "rejected bad +0 ~0 -0 !0 sites/alpha.cue:", "applied c1 +1 ~0 -0 !0"}}},
		}},
		{name: "commit refused by the source", steps: []stepCase{
			{do: func(w *stepWorld) { w.commit("c1", "alpha") }, want: stepWant{outcome: reconcile.PollApplied}},
			{do: func(w *stepWorld) {
				w.src.err = &gitsource.CommitError{Commit: "unsigned", Err: errors.New("commit unsigned refused by the signature policy")}
			}, want: stepWant{outcome: reconcile.PollRejected, serving: "c1", rejected: "unsigned", publishes: 1}},
			// Refused again at the next poll: folded into the same record.
			{want: stepWant{outcome: reconcile.PollRejected, rejected: "unsigned",
				history: []string{"rejected unsigned +0 ~0 -0 !0 x1 commit unsigned refused", "applied c1 +1 ~0 -0 !0"}}},
		}},
		{name: "one site's key failing while others serve", steps: []stepCase{
			{do: func(w *stepWorld) {
				w.commit("c1", "alpha", "beta")
				w.keys.errs["edge/beta"] = errors.New("vault: permission denied")
			}, want: stepWant{outcome: reconcile.PollPartial, serving: "c1", published: []string{"alpha"},
				sites: map[string]reconcile.SiteState{"alpha": serving, "beta": reconcile.SiteFailed}}},
			{do: func(w *stepWorld) {
				w.site("alpha", 2) // a new certificate: its key is read again, and fails
				w.keys.errs["edge/alpha"] = errors.New("vault: sealed")
				w.commit("c2", "alpha", "beta", "gamma")
			}, want: stepWant{outcome: reconcile.PollPartial, serving: "c2", published: []string{"alpha", "gamma"},
				sites:   map[string]reconcile.SiteState{"alpha": reconcile.SiteStale, "beta": reconcile.SiteFailed, "gamma": serving},
				history: []string{"partial c2 +1 ~0 -0 !2", "partial c1 +1 ~0 -0 !1"}}},
		}},
		{name: "stale site conflicting with the others is dropped", steps: []stepCase{
			{do: func(w *stepWorld) { w.commit("c1", "alpha", "beta") }, want: stepWant{outcome: reconcile.PollApplied}},
			{do: func(w *stepWorld) {
				w.site("beta", 2)
				w.keys.errs["edge/beta"] = errors.New("vault: sealed")
				w.pub.refuse = "beta"
				w.commit("c2", "alpha", "beta")
			}, want: stepWant{outcome: reconcile.PollPartial, serving: "c2", published: []string{"alpha"}, publishes: 2,
				sites: map[string]reconcile.SiteState{"alpha": serving, "beta": reconcile.SiteFailed}}},
		}},
		{name: "publisher refuses the sites", steps: []stepCase{
			{do: func(w *stepWorld) { w.commit("c1", "alpha") }, want: stepWant{outcome: reconcile.PollApplied}},
			{do: func(w *stepWorld) { w.pub.refuse = "beta"; w.commit("c2", "alpha", "beta") },
				want: stepWant{outcome: reconcile.PollRejected, serving: "c1", rejected: "c2", publishes: 1, published: []string{"alpha"}}},
		}},
		{name: "source error", steps: []stepCase{
			{do: func(w *stepWorld) { w.commit("c1", "alpha") }, want: stepWant{outcome: reconcile.PollApplied}},
			{do: func(w *stepWorld) { w.src.err = errors.New("connection refused") },
				want: stepWant{err: true, outcome: reconcile.PollError, serving: "c1", publishes: 1,
					sites: map[string]reconcile.SiteState{"alpha": serving}}},
			{want: stepWant{err: true, outcome: reconcile.PollError,
				history: []string{"error  +0 ~0 -0 !0 x1 connection refused", "applied c1 +1 ~0 -0 !0"}}},
			{do: func(w *stepWorld) { w.src.err = nil }, want: stepWant{outcome: reconcile.PollUnchanged, serving: "c1",
				history: []string{"error  +0 ~0 -0 !0 x1 connection refused", "applied c1 +1 ~0 -0 !0"}}},
		}},
		{name: "key refresh", keyRefresh: time.Nanosecond, steps: []stepCase{
			{do: func(w *stepWorld) { w.commit("c1", "alpha") }, want: stepWant{outcome: reconcile.PollApplied, keyReads: 1}},
			// The key is due again at once: read, but the same, so nothing is published.
			{want: stepWant{outcome: reconcile.PollUnchanged, publishes: 1, keyReads: 2}},
			// A new version under the same reference is published on the same commit.
			{do: func(w *stepWorld) {
				k := w.keys.keys["edge/alpha"]
				w.keys.keys["edge/alpha"] = keysource.Key{PEM: append([]byte("\n"), k.PEM...), Version: 7}
			}, want: stepWant{outcome: reconcile.PollApplied, serving: "c1", publishes: 2, keyReads: 3,
				history: []string{"applied c1 +0 ~1 -0 !0", "applied c1 +1 ~0 -0 !0"}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newStepWorld(t, tt.keyRefresh)
			for i, s := range tt.steps {
				if s.do != nil {
					s.do(w)
				}
				err := w.agent.Step(context.Background())
				w.check(i, err, s.want)
			}
		})
	}
}

// check compares the agent and the fakes after step i with want.
func (w *stepWorld) check(i int, err error, want stepWant) {
	t := w.t
	t.Helper()
	st := w.agent.Status()
	if (err != nil) != want.err {
		t.Errorf("step %d: err = %v; want error %v", i, err, want.err)
	}
	if st.LastPoll.Outcome != want.outcome {
		t.Errorf("step %d: outcome %q; want %q (status %+v)", i, st.LastPoll.Outcome, want.outcome, st)
	}
	if want.serving != "" && st.Serving.Commit != want.serving {
		t.Errorf("step %d: serving %q; want %q", i, st.Serving.Commit, want.serving)
	}
	switch {
	case want.rejected == "-" && st.Rejected != nil:
		t.Errorf("step %d: rejected %+v; want none", i, st.Rejected)
	case want.rejected != "" && want.rejected != "-" && (st.Rejected == nil || st.Rejected.Commit != want.rejected):
		t.Errorf("step %d: rejected %+v; want commit %s", i, st.Rejected, want.rejected)
	}
	if want.sites != nil {
		got := map[string]reconcile.SiteState{}
		for _, s := range st.Sites {
			got[s.Name] = s.State
		}
		if !maps.Equal(got, want.sites) {
			t.Errorf("step %d: sites %v; want %v", i, got, want.sites)
		}
	}
	if want.history != nil {
		got := make([]string, len(st.History))
		for j, r := range st.History {
			got[j] = histLine(r)
		}
		if !slices.EqualFunc(got, want.history, strings.HasPrefix) {
			t.Errorf("step %d: history\n%s\nwant\n%s", i, strings.Join(got, "\n"), strings.Join(want.history, "\n"))
		}
	}
	w.pub.mu.Lock()
	defer w.pub.mu.Unlock()
	if want.published != nil && !slices.Equal(w.pub.sites, want.published) {
		t.Errorf("step %d: published %v; want %v", i, w.pub.sites, want.published)
	}
	if want.publishes != 0 && w.pub.publishes != want.publishes {
		t.Errorf("step %d: %d publishes; want %d", i, w.pub.publishes, want.publishes)
	}
	if w.pub.publishes > 0 && (w.pub.generation != st.Serving.Generation || w.pub.commit != st.Serving.Commit) {
		t.Errorf("step %d: published generation %d of %s; status says %d of %s", i, w.pub.generation, w.pub.commit, st.Serving.Generation, st.Serving.Commit)
	}
	w.keys.mu.Lock()
	defer w.keys.mu.Unlock()
	if want.keyReads != 0 && w.keys.reads != want.keyReads {
		t.Errorf("step %d: %d key reads; want %d", i, w.keys.reads, want.keyReads)
	}
}

// histLine writes a history record as "outcome commit +added ~changed -removed !failed",
// then " xRepeats" if any, then the error if any.
func histLine(r reconcile.ReconcileRecord) string {
	s := fmt.Sprintf("%s %s +%d ~%d -%d !%d", r.Outcome, r.Commit, r.Added, r.Changed, r.Removed, r.Failed)
	if r.Repeats > 0 {
		s += fmt.Sprintf(" x%d", r.Repeats)
	}
	if r.Error != "" {
		s += " " + r.Error
	}
	return s
}

// TestStatusWhilePublishing reads Status while steps publish (run it with -race): every
// value read is whole, and once the publisher serves a commit, Status says so.
func TestStatusWhilePublishing(t *testing.T) {
	w := newStepWorld(t, 0)
	w.commit("c0", "alpha")
	if err := w.agent.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				w.pub.mu.Lock()
				published := w.pub.commit
				w.pub.mu.Unlock()
				st := w.agent.Status()
				if st.Serving.Commit < published { // commits "c0" < "c1" < ... < "c9"
					t.Errorf("status serving %s after %s was published", st.Serving.Commit, published)
				}
				if len(st.Sites) == 0 || st.LastPoll.Outcome == "" {
					t.Errorf("status %+v: sites or last poll missing", st)
				}
			}
		}()
	}
	for i := 1; i < 10; i++ {
		w.commit("c"+string(rune('0'+i)), "alpha")
		if err := w.agent.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	readers.Wait()
	if st := w.agent.Status(); st.Serving.Commit != "c9" || st.Serving.Generation != 10 {
		t.Errorf("serving %s generation %d; want c9, 10", st.Serving.Commit, st.Serving.Generation)
	}
}

// TestStatusIsACopy: changing a Status returned does not change the agent's.
func TestStatusIsACopy(t *testing.T) {
	w := newStepWorld(t, 0)
	w.commit("c1", "alpha")
	if err := w.agent.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := w.agent.Status()
	st.Sites[0].State = reconcile.SiteFailed
	if got := w.agent.Status().Sites[0].State; got != reconcile.SiteServing {
		t.Errorf("site state %q after a caller changed its copy; want serving", got)
	}
}

// TestHistoryBoundedAndImmutable: the history keeps the last HistoryLen reconciles, newest
// first, and a Status read earlier keeps the history it had.
func TestHistoryBoundedAndImmutable(t *testing.T) {
	w := newStepWorld(t, 0)
	w.commit("c000", "alpha")
	if err := w.agent.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := w.agent.Status()
	for i := 1; i <= reconcile.HistoryLen+20; i++ {
		w.commit(fmt.Sprintf("c%03d", i), "alpha")
		if err := w.agent.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	st := w.agent.Status()
	if len(st.History) != reconcile.HistoryLen {
		t.Fatalf("%d records; want %d", len(st.History), reconcile.HistoryLen)
	}
	if newest, oldest := st.History[0].Commit, st.History[len(st.History)-1].Commit; newest != "c120" || oldest != "c021" {
		t.Errorf("history from %s back to %s; want c120 back to c021", newest, oldest)
	}
	for i := 1; i < len(st.History); i++ {
		if st.History[i].Start.After(st.History[i-1].Start) {
			t.Fatalf("record %d starts after record %d: not newest first", i, i-1)
		}
	}
	if len(first.History) != 1 || first.History[0].Commit != "c000" || first.History[0].Added != 1 {
		t.Errorf("an earlier Status changed: history %+v", first.History)
	}
	st.History[0].Commit = "changed by the caller"
	if got := w.agent.Status().History[0].Commit; got != "c120" {
		t.Errorf("newest record %q after a caller changed its copy; want c120", got)
	}
}
