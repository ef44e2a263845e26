package reconcile_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
	"github.com/edgectl/edge/schema/sitegen"
	"github.com/edgectl/edge/tests/testca"
	"github.com/edgectl/edge/tests/testenv"
	"github.com/prometheus/client_golang/prometheus"
)

// countingKeys counts reads from a real key source (to check that unchanged keys cost none).
type countingKeys struct {
	keysource.Source
	reads atomic.Int64
}

func (c *countingKeys) Fetch(ctx context.Context, ref schema.KeyRef) (keysource.Key, error) {
	c.reads.Add(1)
	return c.Source.Fetch(ctx, ref)
}

// agentEnv is a real config repo (git), a real key directory, a real edge server and an
// agent between them.
type agentEnv struct {
	t      *testing.T
	repo   *testenv.GitRepo
	ca     *testca.CA
	keyDir string
	keys   *countingKeys
	srv    *edge.Server
	agent  *reconcile.Agent
	// backend answers "<site>:<X-Demo header>" so tests see which version served them.
	backend *httptest.Server
	// tweak, if set, changes the options of the agents boot makes.
	tweak func(*reconcile.AgentOptions)
}

func newAgentEnv(t *testing.T, opts ...func(*gitsource.Options)) *agentEnv {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	keyDir := filepath.Join(t.TempDir(), "keys")
	if err := os.Mkdir(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.Host)
	}))
	t.Cleanup(backend.Close)
	e := &agentEnv{t: t, repo: testenv.NewGitRepo(t), ca: ca, keyDir: keyDir, backend: backend,
		keys: &countingKeys{Source: keysource.Dir{Dir: keyDir}}}
	so := gitsource.Options{URL: e.repo.Bare}
	for _, o := range opts {
		o(&so)
	}
	e.boot(so)
	return e
}

// boot starts a new edge server and a new agent following so, as a restarted process
// would (the previous ones are left to the test's cleanup).
func (e *agentEnv) boot(so gitsource.Options) {
	t := e.t
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.srv = edge.NewServer(edge.Options{Listen: "127.0.0.1:0", HTTPListen: edge.Off, AdminListen: edge.Off, Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := e.srv
	t.Cleanup(func() {
		cancel()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		_ = srv.Shutdown(sctx)
	})
	so.Logger = quiet
	src, err := gitsource.New(so)
	if err != nil {
		t.Fatal(err)
	}
	var state reconcile.StateStore
	if so.StateDir != "" {
		state = src
	}
	ao := reconcile.AgentOptions{
		Source: src, Loader: schema.NewLoader(schema.LoaderOptions{LenientExpiry: true}), State: state,
		Keys: e.keys, Publisher: e.srv, Logger: quiet, Registerer: prometheus.NewRegistry(),
	}
	if e.tweak != nil {
		e.tweak(&ao)
	}
	e.agent, err = reconcile.NewAgent(ao)
	if err != nil {
		t.Fatal(err)
	}
}

// site writes sites/<name>.cue with a fresh certificate; withKey also writes its key.
func (e *agentEnv) site(name string, withKey bool, keyPath string) *sitegen.Generated {
	e.t.Helper()
	opts := sitegen.Options{CA: e.ca}
	if withKey {
		opts.KeyDir = e.keyDir
	}
	s := sitegen.Site{Name: name, Hosts: []string{name + ".example.test"}, Upstreams: []string{e.backend.URL}}
	if keyPath != "" {
		s.Key = schema.KeyRef{Mount: "secret", Path: keyPath, Field: "key"}
	}
	g, err := sitegen.WriteSite(e.repo.Dir, s, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

// servedCert returns the serial number of the certificate served for <name>.example.test.
func (e *agentEnv) servedCert(name string) string {
	e.t.Helper()
	conn, err := tls.Dial("tcp", e.srv.Addr().String(), &tls.Config{RootCAs: e.ca.Pool(), ServerName: name + ".example.test"})
	if err != nil {
		e.t.Fatalf("handshake %s: %v", name, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func (e *agentEnv) step() reconcile.Status {
	e.t.Helper()
	if err := e.agent.Step(context.Background()); err != nil {
		e.t.Fatalf("Step: %v", err)
	}
	return e.agent.Status()
}

// get requests https://<name>.example.test/ from the edge with a real TLS client.
func (e *agentEnv) get(name string) (int, string, error) {
	host := name + ".example.test"
	addr := e.srv.Addr().String()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.ca.Pool(), ServerName: host},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		},
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + host + "/")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func (e *agentEnv) mustServe(name string) {
	e.t.Helper()
	code, body, err := e.get(name)
	if err != nil || code != 200 || !strings.Contains(body, name+".example.test") {
		e.t.Fatalf("GET %s: %d %q %v; want 200 from the backend", name, code, body, err)
	}
}

func (e *agentEnv) mustRefuse(name string) {
	e.t.Helper()
	if code, _, err := e.get(name); err == nil {
		e.t.Fatalf("GET %s: got status %d; want the handshake refused", name, code)
	}
}

func siteState(st reconcile.Status, name string) reconcile.SiteStatus {
	for _, s := range st.Sites {
		if s.Name == name {
			return s
		}
	}
	return reconcile.SiteStatus{State: "absent"}
}

func TestAgentFollowsCommits(t *testing.T) {
	e := newAgentEnv(t)
	e.site("alpha", true, "")
	e.site("beta", true, "")
	c1 := e.repo.Commit("two sites", nil)

	st := e.step()
	if st.Serving.Commit != c1 || st.Serving.Generation != 1 || st.LastPoll.Outcome != "applied" {
		t.Fatalf("after first poll: serving %+v, poll %+v; want commit %s generation 1 applied", st.Serving, st.LastPoll, c1)
	}
	e.mustServe("alpha")
	e.mustServe("beta")
	if n := e.keys.reads.Load(); n != 2 {
		t.Errorf("key reads after first reconcile = %d; want 2", n)
	}

	// An idle poll reads no key and publishes nothing.
	st = e.step()
	if st.LastPoll.Outcome != "unchanged" || st.Serving.Generation != 1 || e.keys.reads.Load() != 2 {
		t.Fatalf("idle poll: outcome %q generation %d key reads %d; want unchanged, 1, 2", st.LastPoll.Outcome, st.Serving.Generation, e.keys.reads.Load())
	}

	// A site added by commit is served after one poll and costs exactly one key read.
	e.site("gamma", true, "")
	c2 := e.repo.Commit("add gamma", nil)
	st = e.step()
	if st.Serving.Commit != c2 || e.keys.reads.Load() != 3 {
		t.Fatalf("after adding gamma: serving %s, key reads %d; want %s, 3", st.Serving.Commit, e.keys.reads.Load(), c2)
	}
	e.mustServe("gamma")
	if s := siteState(st, "alpha"); s.Commit != c1 {
		t.Errorf("alpha revision = %s; want %s (unchanged site keeps its revision)", s.Commit, c1)
	}

	// A removed site is gone.
	e.repo.Commit("remove beta", map[string][]byte{"sites/beta.cue": nil, "certs/beta.pem": nil})
	st = e.step()
	e.mustRefuse("beta")
	e.mustServe("alpha")
	if s := siteState(st, "beta"); s.State != "absent" {
		t.Errorf("beta state = %s; want absent from status", s.State)
	}
}

func TestAgentRejectsInvalidRevision(t *testing.T) {
	e := newAgentEnv(t)
	e.site("alpha", true, "")
	good := e.repo.Commit("alpha", nil)
	e.step()

	bad := e.repo.Commit("typo", map[string][]byte{"sites/alpha.cue": []byte("package edge\n\nsites: alpha: {\n\thosts: [\"alpha.example.test\"]\n\tcert: \"certs/alpha.pem\"\n\troutes: \"/\": upstream: [\"http://127.0.0.1:1\"]\n}\n")})
	st := e.step()
	if st.Rejected == nil || st.Rejected.Commit != bad || len(st.Rejected.Errors) == 0 {
		t.Fatalf("rejected = %+v; want commit %s with diagnostics", st.Rejected, bad)
	}
	d := st.Rejected.Errors[0]
	if d.File != "sites/alpha.cue" || d.Line == 0 || d.Col == 0 {
		t.Errorf("diagnostic %v; want a file:line:col in sites/alpha.cue", d)
	}
	if st.Serving.Commit != good || st.LastPoll.Outcome != "rejected" {
		t.Errorf("serving %s, outcome %s; want still %s, rejected", st.Serving.Commit, st.LastPoll.Outcome, good)
	}
	e.mustServe("alpha")

	// Fixing it recovers on the next poll.
	e.site("alpha", true, "")
	fixed := e.repo.Commit("fix", nil)
	st = e.step()
	if st.Rejected != nil || st.Serving.Commit != fixed {
		t.Fatalf("after fix: rejected %+v serving %s; want nil, %s", st.Rejected, st.Serving.Commit, fixed)
	}
	e.mustServe("alpha")
}

func TestAgentIsolatesSiteFailures(t *testing.T) {
	e := newAgentEnv(t)
	e.site("alpha", true, "")
	e.site("beta", true, "")
	e.repo.Commit("two sites", nil)
	e.step()
	oldAlpha := e.servedCert("alpha")

	// alpha moves to a key that is not there yet; beta changes; gamma is new without key.
	alpha := e.site("alpha", false, "edge/alpha-2025")
	e.site("beta", true, "")
	gamma := e.site("gamma", false, "")
	c2 := e.repo.Commit("rotate alpha, change beta, add gamma", nil)
	st := e.step()
	if st.Serving.Commit != c2 || st.LastPoll.Outcome != "partial" {
		t.Fatalf("serving %s outcome %s; want %s partial", st.Serving.Commit, st.LastPoll.Outcome, c2)
	}
	if s := siteState(st, "alpha"); s.State != reconcile.SiteStale || !strings.Contains(s.Error, "edge/alpha-2025") {
		t.Errorf("alpha: %+v; want stale naming its missing key", s)
	}
	if s := siteState(st, "gamma"); s.State != reconcile.SiteFailed || s.Error == "" {
		t.Errorf("gamma: %+v; want failed with an error", s)
	}
	if s := siteState(st, "beta"); s.State != reconcile.SiteServing || s.Commit != c2 {
		t.Errorf("beta: %+v; want serving at %s", s, c2)
	}
	if got := e.servedCert("alpha"); got != oldAlpha {
		t.Errorf("alpha serves certificate %s; want its last good one %s", got, oldAlpha)
	}
	e.mustServe("alpha")
	e.mustServe("beta")
	e.mustRefuse("gamma")

	// The keys arrive: after the retry backoff (1s) the same commit recovers by itself.
	for _, g := range []*sitegen.Generated{alpha, gamma} {
		ref := g.Key
		if ref.Path == "" {
			ref = schema.KeyRef{Mount: "secret", Path: "edge/" + g.Name, Field: "key"}
		}
		if err := sitegen.WriteKey(e.keyDir, ref, g.Leaf.KeyPEM); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	st = e.step()
	for _, name := range []string{"alpha", "beta", "gamma"} {
		if s := siteState(st, name); s.State != reconcile.SiteServing || s.Error != "" {
			t.Errorf("%s after keys arrived: %+v; want serving without error", name, s)
		}
		e.mustServe(name)
	}
	if got := e.servedCert("alpha"); got == oldAlpha {
		t.Errorf("alpha still serves its old certificate after its key arrived")
	}
}

// TestAgentRejectionFollowsTheBranch: the rejection shown is always the verdict on the
// commit the branch names now. A refused (unsigned) commit does not make the agent back off
// like an unreachable repo; when the branch is force-pushed back to an earlier invalid
// commit, that commit's own diagnostics are shown again; back on the served commit,
// nothing is rejected.
func TestAgentRejectionFollowsTheBranch(t *testing.T) {
	key, pub := testenv.NewPGPKey(t, "Release Manager")
	ring := filepath.Join(t.TempDir(), "ring.asc")
	if err := os.WriteFile(ring, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	policy, err := gitsource.LoadSignaturePolicy(ring)
	if err != nil {
		t.Fatal(err)
	}
	e := newAgentEnv(t, func(o *gitsource.Options) { o.Signatures = policy })
	e.site("alpha", true, "")
	good := e.repo.CommitSigned(key, "alpha", nil)
	if st := e.step(); st.Serving.Commit != good {
		t.Fatalf("serving %s; want %s", st.Serving.Commit, good)
	}
	invalid := e.repo.CommitSigned(key, "typo", map[string][]byte{"sites/alpha.cue": []byte("package edge\n\nsites: alpha: {\n\thosts: [\"alpha.example.test\"]\n\tcert: \"certs/alpha.pem\"\n\troutes: \"/\": upstream: [\"http://127.0.0.1:1\"]\n}\n")})
	if st := e.step(); st.Rejected == nil || st.Rejected.Commit != invalid || len(st.Rejected.Errors) == 0 {
		t.Fatalf("rejected %+v; want %s with diagnostics", st.Rejected, invalid)
	}
	unsigned := e.repo.CommitSigned(nil, "unsigned", map[string][]byte{"README": []byte("x\n")})
	for i := range 2 {
		if err := e.agent.Step(context.Background()); err != nil {
			t.Fatalf("poll %d of a refused commit: Step = %v; want nil (the repo was reached)", i, err)
		}
		st := e.agent.Status()
		if st.Rejected == nil || st.Rejected.Commit != unsigned || !strings.Contains(st.Rejected.Error, "unsigned") || st.LastPoll.Outcome != "rejected" {
			t.Fatalf("poll %d: rejected %+v, outcome %s; want %s refused as unsigned", i, st.Rejected, st.LastPoll.Outcome, unsigned)
		}
	}
	e.mustServe("alpha")

	e.repo.Git("reset", "--quiet", "--hard", invalid)
	e.repo.ForcePush()
	st := e.step()
	if st.Rejected == nil || st.Rejected.Commit != invalid || len(st.Rejected.Errors) == 0 {
		t.Errorf("back on the invalid commit: rejected %+v; want its own diagnostics", st.Rejected)
	}
	e.repo.Git("reset", "--quiet", "--hard", good)
	e.repo.ForcePush()
	if st := e.step(); st.Rejected != nil || st.Serving.Commit != good {
		t.Errorf("back on the served commit: rejected %+v, serving %s; want none, %s", st.Rejected, st.Serving.Commit, good)
	}
	e.mustServe("alpha")
}

// TestAgentMissingSubdirIsRejected: a commit without the configured subdirectory is the
// commit's fault, not the repo's: a rejected revision (no backoff), not a poll error.
func TestAgentMissingSubdirIsRejected(t *testing.T) {
	e := newAgentEnv(t, func(o *gitsource.Options) { o.Subdir = "edge-config" })
	e.site("alpha", true, "")
	c := e.repo.Commit("config at the root, not in edge-config/", nil)
	for i := range 2 {
		if err := e.agent.Step(context.Background()); err != nil {
			t.Fatalf("poll %d: Step = %v; want nil (the repo was reached)", i, err)
		}
		st := e.agent.Status()
		if st.Rejected == nil || st.Rejected.Commit != c || !strings.Contains(st.Rejected.Error, `subdirectory "edge-config"`) || st.LastPoll.Outcome != "rejected" {
			t.Fatalf("poll %d: rejected %+v, outcome %s; want %s rejected for its missing subdirectory", i, st.Rejected, st.LastPoll.Outcome, c)
		}
	}
}
