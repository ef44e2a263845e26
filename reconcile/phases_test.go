package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/schema"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// TestReconciledLogsPhases: the "reconciled" line of a step that applies a commit says how
// long each part took (took_ms: poll, load, keys, compile, publish), the load and the
// publish of a new site taking some time.
func TestReconciledLogsPhases(t *testing.T) {
	w := newStepWorld(t, 0)
	var logs syncBuffer
	var err error
	w.agent, err = reconcile.NewAgent(reconcile.AgentOptions{
		Source: w.src, Loader: schema.NewLoader(schema.LoaderOptions{}), Keys: w.keys, Publisher: w.pub,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.commit("c1", "a", "b")
	if err := w.agent.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	var line struct {
		Msg    string
		Took   map[string]float64 `json:"took_ms"`
		Added  int
		Commit string
	}
	found := false
	for _, l := range bytes.Split(logs.b.Bytes(), []byte("\n")) {
		if json.Unmarshal(l, &line) == nil && line.Msg == "reconciled" {
			found = true
			break
		}
	}
	if !found {
		t.Fatalf("no reconciled line in the log:\n%s", logs.b.String())
	}
	if line.Commit != "c1" || line.Added != 2 {
		t.Errorf("reconciled commit %q, added %d; want c1, 2", line.Commit, line.Added)
	}
	for _, k := range []string{"poll", "load", "keys", "compile", "publish"} {
		if d, ok := line.Took[k]; !ok || d < 0 {
			t.Errorf("took_ms.%s = %v (present %v); want a duration >= 0", k, d, ok)
		}
	}
	if line.Took["load"] <= 0 {
		t.Errorf("took_ms.load = %v; want > 0 (two site files were evaluated)", line.Took["load"])
	}
}

// TestRestoreLogsLoadPhase: the "reconciled" line of a restart serving the state dir's
// revision says how long its load took (it has no poll).
func TestRestoreLogsLoadPhase(t *testing.T) {
	e := newStateEnv(t)
	e.site("alpha", true, "")
	e.repo.Commit("alpha", nil)
	e.step()
	var logs syncBuffer
	e.tweak = func(o *reconcile.AgentOptions) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) }
	e.restart()
	e.step()
	var line struct {
		Msg  string
		Took map[string]float64 `json:"took_ms"`
	}
	for _, l := range bytes.Split(logs.b.Bytes(), []byte("\n")) {
		if json.Unmarshal(l, &line) == nil && line.Msg == "reconciled" {
			break
		}
		line.Msg = ""
	}
	if line.Msg != "reconciled" {
		t.Fatalf("no reconciled line in the log:\n%s", logs.b.String())
	}
	if line.Took["load"] <= 0 || line.Took["poll"] != 0 {
		t.Errorf("restore's took_ms %v; want load > 0 and poll 0", line.Took)
	}
}
