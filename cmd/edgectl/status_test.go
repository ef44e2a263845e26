package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/reconcile"
)

// statusServer serves st as an agent's /status.
func statusServer(t *testing.T, st reconcile.Status) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(st)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestStatusSelectsSites(t *testing.T) {
	exp := time.Now().Add(90 * 24 * time.Hour)
	st := reconcile.Status{
		Serving:  reconcile.ServingStatus{Commit: "0123456789abcdef", Generation: 7, Since: time.Now()},
		LastPoll: reconcile.PollStatus{At: time.Now(), Outcome: "partial", Commit: "0123456789abcdef"},
		Sites: []reconcile.SiteStatus{
			{Name: "acme", State: reconcile.SiteServing, Hosts: []string{"acme.example.test", "www.acme.example.test"}, Commit: "0123456789abcdef", NotAfter: exp, KeyVersion: 3},
			{Name: "blog", State: reconcile.SiteStale, Hosts: []string{"blog.example.test"}, Commit: "fedcba9876543210", NotAfter: exp, Error: "key secret/edge/blog#key: vault unreachable"},
			{Name: "shop", State: reconcile.SiteFailed, Hosts: []string{"shop.example.test"}, Error: "key not read yet"},
			{Name: "secure", State: reconcile.SiteServing, Hosts: []string{"secure.example.test"}, Commit: "0123456789abcdef", Passthrough: true},
		},
	}
	admin := statusServer(t, st)
	tests := []struct {
		name       string
		args       []string
		code       int
		has, lacks []string
	}{
		{"all", nil, exitInvalid, []string{"sites     4: 2 serving, 1 stale, 1 failed", "acme  ", "blog  ", "shop  ", "blog: key secret/edge/blog#key: vault unreachable"}, nil},
		{"problems", []string{"--problems"}, exitInvalid, []string{"blog  ", "shop  "}, []string{"acme  "}},
		{"by name", []string{"acme"}, exitOK, []string{"acme  ", "v3"}, []string{"blog  ", "shop  "}},
		{"by host", []string{"www.acme.example.test."}, exitOK, []string{"acme  "}, []string{"blog  "}},
		{"a stale one", []string{"blog"}, exitInvalid, []string{"blog  ", "vault unreachable"}, []string{"acme  "}},
		{"healthy site with --problems", []string{"--problems", "acme"}, exitOK, []string{"sites     4:"}, []string{"SITE"}},
		{"a passthrough site", []string{"secure"}, exitOK, []string{"secure  ", "passthrough   -    secure.example.test"}, []string{"acme  "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(append([]string{"status", "--admin", admin}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d; want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, h := range tt.has {
				if !strings.Contains(out, h) {
					t.Errorf("output lacks %q:\n%s", h, out)
				}
			}
			for _, l := range tt.lacks {
				if strings.Contains(out, l) {
					t.Errorf("output has %q:\n%s", l, out)
				}
			}
		})
	}
	if code, _, errOut := runCmd("status", "--admin", admin, "nope.example.test"); code != exitUsage || !strings.Contains(errOut, "nope.example.test") {
		t.Errorf("unknown site: exit %d (%s); want 2 naming it", code, errOut)
	}
}

// TestStatusPersisted: a revision served from the state dir, and a state dir problem, are
// said in the text output.
func TestStatusPersisted(t *testing.T) {
	st := reconcile.Status{
		Serving: reconcile.ServingStatus{Commit: "0123456789abcdef", Generation: 1, Since: time.Now(),
			Persisted: &reconcile.PersistedStatus{Reason: "repo unreachable: connection refused"}},
		LastPoll:   reconcile.PollStatus{At: time.Now(), Outcome: "error", Error: "connection refused"},
		StateError: "reconcile: state dir /var/lib/edge/state: save commit fedcba: permission denied",
		Sites:      []reconcile.SiteStatus{},
	}
	code, out, errOut := runCmd("status", "--admin", statusServer(t, st))
	if code != exitOK {
		t.Errorf("exit %d; want 0 (serving, nothing rejected)\n%s%s", code, out, errOut)
	}
	for _, h := range []string{
		"persisted serving commit 0123456789ab from the state dir: repo unreachable: connection refused",
		"state     reconcile: state dir /var/lib/edge/state: save commit fedcba: permission denied",
	} {
		if !strings.Contains(out, h) {
			t.Errorf("output lacks %q:\n%s", h, out)
		}
	}
}
