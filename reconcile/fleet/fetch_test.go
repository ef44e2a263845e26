package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
)

// statusHandler answers /status with st.
func statusHandler(st reconcile.Status) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(st)
	})
}

// httpTarget is the target of a plain-HTTP test server.
func httpTarget(t *testing.T, h http.Handler) Target { return httpTargetB(t, h) }

// httpTargetB is httpTarget for tests and benchmarks.
func httpTargetB(t testing.TB, h http.Handler) Target {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a, err := ParseAddr(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return Resolve(context.Background(), nil, []Addr{a})[0]
}

func newTestClient(t *testing.T, o ClientOptions) *Client {
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// TestFetchConcurrencyBound: never more than Concurrency agents are asked at once, and that
// many are.
func TestFetchConcurrencyBound(t *testing.T) {
	var inflight, peak atomic.Int32
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		statusHandler(reconcile.Status{Serving: reconcile.ServingStatus{Commit: newCommit}}).ServeHTTP(w, r)
	})
	var targets []Target
	for range 10 {
		targets = append(targets, httpTarget(t, h))
	}
	done := make(chan []Result)
	go func() {
		done <- Fetch(context.Background(), newTestClient(t, ClientOptions{}), targets, FetchOptions{Concurrency: 3})
	}()
	for deadline := time.Now().Add(30 * time.Second); inflight.Load() < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in flight after 30s; want 3", inflight.Load())
		}
	}
	close(release)
	results := <-done
	if p := peak.Load(); p != 3 {
		t.Errorf("at most %d requests in flight; want 3", p)
	}
	for _, r := range results {
		if r.Err != nil || r.Serving.Commit != newCommit {
			t.Errorf("%s: %v %q", r.Target.Addr, r.Err, r.Serving.Commit)
		}
	}
}

// TestFetchTimeoutAndCancel: an agent that never answers is unreachable after Timeout while
// the others answer; a cancelled context ends the whole fetch.
func TestFetchTimeoutAndCancel(t *testing.T) {
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ok := statusHandler(reconcile.Status{Serving: reconcile.ServingStatus{Commit: newCommit}, Sites: []reconcile.SiteStatus{
		{Name: "a", State: reconcile.SiteServing}, {Name: "b", State: reconcile.SiteStale}, {Name: "c", State: reconcile.SiteFailed}}})
	c := newTestClient(t, ClientOptions{})
	targets := []Target{httpTarget(t, ok), httpTarget(t, hang)}
	start := time.Now()
	res := Fetch(context.Background(), c, targets, FetchOptions{Timeout: 300 * time.Millisecond})
	t.Logf("fetch with one agent hanging took %v (timeout 300ms)", time.Since(start).Round(time.Millisecond))
	if res[0].Err != nil || res[0].SitesFailing != 2 {
		t.Errorf("answering agent: %v, %d sites failing; want none, 2", res[0].Err, res[0].SitesFailing)
	}
	if !errors.Is(res[1].Err, context.DeadlineExceeded) {
		t.Errorf("hanging agent: %v; want a deadline error", res[1].Err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var res2 []Result
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		res2 = Fetch(ctx, c, []Target{targets[1], targets[1]}, FetchOptions{Timeout: time.Hour, Concurrency: 1})
	}()
	cancel()
	wg.Wait()
	for _, r := range res2 {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("after cancel: %v; want context.Canceled", r.Err)
		}
	}
}

// TestClientToken: the token is sent as a bearer token; a refusal says what is missing and
// never shows the token.
func TestClientToken(t *testing.T) {
	const token = "s3cret-token-value"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		statusHandler(reconcile.Status{Serving: reconcile.ServingStatus{Commit: newCommit}}).ServeHTTP(w, r)
	})
	tg := httpTarget(t, h)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	os.WriteFile(good, []byte(token+"\n"), 0o600)
	os.WriteFile(bad, []byte("wrong-"+token+"\n"), 0o600)
	for _, tc := range []struct {
		name, file, errHas string
	}{
		{"no token", "", "--token-file"},
		{"wrong token", bad, "token was refused"},
		{"right token", good, ""},
	} {
		r := Fetch(context.Background(), newTestClient(t, ClientOptions{TokenFile: tc.file}), []Target{tg}, FetchOptions{})[0]
		switch {
		case tc.errHas == "" && (r.Err != nil || r.Serving.Commit != newCommit):
			t.Errorf("%s: %v; want the status", tc.name, r.Err)
		case tc.errHas != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tc.errHas) || !strings.Contains(r.Err.Error(), "401")):
			t.Errorf("%s: %v; want 401 and %q", tc.name, r.Err, tc.errHas)
		case r.Err != nil && strings.Contains(r.Err.Error(), token):
			t.Errorf("%s: the error shows the token: %v", tc.name, r.Err)
		}
	}
	// A rotated token is read again.
	c := newTestClient(t, ClientOptions{TokenFile: bad})
	os.WriteFile(bad, []byte(token), 0o600)
	if r := Fetch(context.Background(), c, []Target{tg}, FetchOptions{})[0]; r.Err != nil {
		t.Errorf("after the token file changed: %v; want the new token sent", r.Err)
	}
	if _, err := NewClient(ClientOptions{TokenFile: filepath.Join(dir, "missing")}); err == nil {
		t.Error("NewClient with a missing token file: no error")
	}
}
