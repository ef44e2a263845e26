package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestWebhookHandler(t *testing.T) {
	const secret = "hook-secret"
	push := `{"ref":"refs/heads/main","after":"abc"}`
	other := `{"ref":"refs/heads/feature"}`
	tests := []struct {
		name       string
		secret     string
		ref        string
		method     string
		headers    map[string]string
		body       string
		wantStatus int
		wantPoll   bool
	}{
		{"push to watched branch", secret, "main", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(secret, push)}, push, 202, true},
		{"full ref name", secret, "refs/heads/main", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(secret, push)}, push, 202, true},
		{"remote HEAD: any push", secret, "", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(secret, other)}, other, 202, true},
		{"push to another branch", secret, "main", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(secret, other)}, other, 200, false},
		{"tag push", secret, "v1", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(secret, `{"ref":"refs/tags/v1"}`)}, `{"ref":"refs/tags/v1"}`, 202, true},
		{"ping", secret, "main", "POST", map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": sign(secret, `{"zen":"x"}`)}, `{"zen":"x"}`, 200, false},
		{"other event", secret, "main", "POST", map[string]string{"X-GitHub-Event": "issues", "X-Hub-Signature-256": sign(secret, push)}, push, 200, false},
		{"gitea push", secret, "main", "POST", map[string]string{"X-Gitea-Event": "push", "X-Hub-Signature-256": sign(secret, push)}, push, 202, true},
		{"gitlab push", secret, "main", "POST", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": secret}, push, 202, true},
		{"gitlab bad token", secret, "main", "POST", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"}, push, 401, false},
		{"bad signature", secret, "main", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("other", push)}, push, 401, false},
		{"signature of another body", secret, "main", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(secret, other)}, push, 401, false},
		{"sha1 only", secret, "main", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature": "sha1=00"}, push, 401, false},
		{"malformed signature", secret, "main", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=zz"}, push, 401, false},
		{"no signature", secret, "main", "POST", map[string]string{"X-GitHub-Event": "push"}, push, 401, false},
		{"not json", secret, "main", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(secret, "{")}, "{", 400, false},
		{"GET", secret, "main", "GET", nil, "", 405, false},
		{"disabled", "", "main", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign("", push)}, push, 404, false},
		{"too large", secret, "main", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sign(secret, strings.Repeat("x", 2000))}, strings.Repeat("x", 2000), 413, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var polls atomic.Int32
			h := &webhookHandler{
				Secret:  []byte(tt.secret),
				Ref:     func() string { return tt.ref },
				Trigger: func() { polls.Add(1) },
				MaxBody: 1024,
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, err := http.NewRequest(tt.method, srv.URL, bytes.NewBufferString(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d; want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := polls.Load() == 1; got != tt.wantPoll {
				t.Errorf("triggered = %v; want %v", got, tt.wantPoll)
			}
		})
	}
}

// TestWebhookTriggersAgent: with the agent's own Trigger, a burst of deliveries is answered
// at once, every time (Trigger never blocks; reconcile's TestTriggerCollapses checks that
// the burst leaves one pending poll).
func TestWebhookTriggersAgent(t *testing.T) {
	a, err := reconcile.NewAgent(reconcile.AgentOptions{Source: noSource{}, Loader: schema.NewLoader(schema.LoaderOptions{}),
		Keys: keysource.Dir{Dir: t.TempDir()}, Publisher: edge.NewServer(edge.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	h := &webhookHandler{Secret: []byte("s"), Trigger: a.Trigger}
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := `{"ref":"refs/heads/main"}`
	for range 5 {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", sign("s", body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d; want 202", resp.StatusCode)
		}
	}
}

// noSource is a reconcile.Source never polled.
type noSource struct{}

func (noSource) Poll(context.Context) (*gitsource.Revision, bool, error) {
	return nil, false, errors.New("not polled in this test")
}
