package reconcile_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/schema"
	"github.com/prometheus/client_golang/prometheus"
)

// TestLastSuccessfulPollMetric: edge_agent_last_successful_poll_timestamp_seconds moves on
// every poll that reached the repo (applied, unchanged, rejected by the loader or refused by
// the source) and stays put while the repo is unreachable; edge_agent_poll_interval_seconds
// is the configured interval.
func TestLastSuccessfulPollMetric(t *testing.T) {
	w := newStepWorld(t, 0)
	reg := prometheus.NewRegistry()
	var err error
	w.agent, err = reconcile.NewAgent(reconcile.AgentOptions{
		Source: w.src, Loader: schema.NewLoader(schema.LoaderOptions{}), Keys: w.keys, Publisher: w.pub,
		Interval: 45 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	gauge := func(name string) float64 { t.Helper(); return gathered(t, reg, name, "") }
	const last = "edge_agent_last_successful_poll_timestamp_seconds"
	if got := gauge("edge_agent_poll_interval_seconds"); got != 45 {
		t.Errorf("poll interval = %v; want 45", got)
	}
	if got := gauge(last); got != 0 {
		t.Errorf("%s = %v before any poll; want 0", last, got)
	}
	steps := []struct {
		name    string
		do      func()
		outcome reconcile.PollOutcome
		moves   bool
	}{
		{"applied", func() { w.commit("c1", "alpha") }, reconcile.PollApplied, true},
		{"unchanged", func() {}, reconcile.PollUnchanged, true},
		{"repo unreachable", func() { w.src.err = errors.New("connection refused") }, reconcile.PollError, false},
		{"invalid commit", func() {
			w.src.err = nil
			w.head("bad", fstest.MapFS{"sites/alpha.cue": {Data: []byte("package edge\n\nsites: alpha: {\n")}})
		}, reconcile.PollRejected, true},
		{"unreachable again", func() { w.src.err = errors.New("timeout") }, reconcile.PollError, false},
		{"commit refused by the source", func() {
			w.src.err = &gitsource.CommitError{Commit: "unsigned", Err: errors.New("commit unsigned refused")}
		}, reconcile.PollRejected, true},
	}
	for _, s := range steps {
		s.do()
		before, prev := float64(time.Now().UnixNano())/1e9, gauge(last)
		_ = w.agent.Step(context.Background())
		if o := w.agent.Status().LastPoll.Outcome; o != s.outcome {
			t.Fatalf("%s: outcome %q; want %q", s.name, o, s.outcome)
		}
		got := gauge(last)
		switch {
		case s.moves && got < before:
			t.Errorf("%s: %s = %v; want at least %v (the poll's start)", s.name, last, got, before)
		case !s.moves && got != prev:
			t.Errorf("%s: %s = %v; want unchanged %v", s.name, last, got, prev)
		}
	}
	if n := gathered(t, reg, "edge_agent_polls_total", "rejected"); n != 2 {
		t.Errorf("rejected polls = %v; want 2", n)
	}
}

// gathered returns the value of the gauge or counter name gathered from reg: its only
// series, or the one labelled outcome when outcome is set.
func gathered(t *testing.T, reg *prometheus.Registry, name, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if outcome == "" {
				return m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("%s{outcome=%q} not exported", name, outcome)
	return 0
}
