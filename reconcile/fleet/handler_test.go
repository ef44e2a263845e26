package fleet

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
)

// TestHandlerCaches: many viewers at once and one after the other within TTL cost each
// agent one request; after TTL the fleet is asked again. The JSON is the contract's.
func TestHandlerCaches(t *testing.T) {
	var asked atomic.Int32
	agent := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		statusHandler(reconcile.Status{Serving: reconcile.ServingStatus{Commit: newCommit}}).ServeHTTP(w, r)
	})
	tg := httpTarget(t, agent)
	peers, err := ParsePeers(tg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Checker: &Checker{Peers: peers, Client: newTestClient(t, ClientOptions{})}, TTL: time.Hour}
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", APIPath, nil))
		return rec.Code, rec.Body.String()
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); get() }()
	}
	wg.Wait()
	code, body := get()
	if n := asked.Load(); n != 1 {
		t.Errorf("21 viewers within TTL asked the agent %d times; want 1", n)
	}
	if code != 200 {
		t.Fatalf("GET: %d %s", code, body)
	}
	var doc struct {
		Agents []struct {
			Addr, Commit, State, Error string
		}
		Commits []struct {
			Commit string
			Agents int
		}
		Converged bool
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Agents) != 1 || doc.Agents[0].Addr != tg.Addr || doc.Agents[0].Commit != newCommit || doc.Agents[0].State != "current" ||
		len(doc.Commits) != 1 || doc.Commits[0].Agents != 1 || !doc.Converged {
		t.Errorf("JSON %s; want one current agent on %s, converged", body, newCommit)
	}
	for _, key := range []string{`"agents":[{"addr":`, `"commits":[{"commit":`, `"converged":true`} {
		if !strings.Contains(body, key) {
			t.Errorf("JSON lacks %s: %s", key, body)
		}
	}

	h.mu.Lock()
	h.at = h.at.Add(-2 * time.Hour) // as if TTL had passed
	h.mu.Unlock()
	get()
	if n := asked.Load(); n != 2 {
		t.Errorf("after TTL the agent was asked %d times in all; want 2", n)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", APIPath, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d; want 405", rec.Code)
	}
}
