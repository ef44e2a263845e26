package reconcile_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/gitsource"
	"github.com/edgectl/edge/reconcile/keysource"
	"github.com/edgectl/edge/schema"
)

// BenchmarkAgentColdStart10kEarly: a cold start's first step at 10,000 sites (clone,
// load, keys, compile, publish) as the agent runs it, without ("plain") and with
// ("early") the certificates checked while the clone runs (gitsource.EarlyBlobs,
// Loader.PrecheckCert). Run with -count to alternate the two.
func BenchmarkAgentColdStart10kEarly(b *testing.B) {
	dir, keyDir := benchRepo(b, 10000)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, early := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "early"}[early]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				loader := schema.NewLoader(schema.LoaderOptions{LenientExpiry: true})
				opts := gitsource.Options{URL: dir, Logger: quiet}
				if early {
					opts.Early = &gitsource.EarlyBlobs{Prefix: []byte("-----BEGIN CERTIFICATE-----"), Func: loader.PrecheckCert}
				}
				src, err := gitsource.New(opts)
				if err != nil {
					b.Fatal(err)
				}
				a, stop := coldAgent(b, src, loader, keyDir, quiet)
				if err := a.Step(context.Background()); err != nil {
					b.Fatal(err)
				}
				if st := a.Status(); st.LastPoll.Outcome != "applied" {
					b.Fatalf("outcome %s", st.LastPoll.Outcome)
				}
				b.StopTimer()
				stop() // (each iteration's server and sites dropped before the next)
				b.StartTimer()
			}
		})
	}
}

// coldAgent is benchAgent with the given loader, and the func stopping its server.
func coldAgent(b *testing.B, src reconcile.Source, loader *schema.Loader, keyDir string, log *slog.Logger) (*reconcile.Agent, func()) {
	b.Helper()
	srv := edge.NewServer(edge.Options{Listen: "127.0.0.1:0", HTTPListen: edge.Off, AdminListen: edge.Off, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		b.Fatal(err)
	}
	stop := func() { cancel(); _ = srv.Shutdown(context.Background()) }
	a, err := reconcile.NewAgent(reconcile.AgentOptions{Source: src, Loader: loader,
		Keys: keysource.Dir{Dir: keyDir}, Publisher: srv, Logger: log})
	if err != nil {
		stop()
		b.Fatal(err)
	}
	return a, stop
}
