// Command profile runs edge like `edgectl agent --keys dir` (same packages, same wiring:
// git source, key directory, schema loader, edge.Server) and also serves net/http/pprof on
// the admin listener, so tests/bench/peers.sh can take a CPU profile of edge under load:
//
//	go run ./tests/bench/profile -repo DIR -key-dir DIR -listen 127.0.0.1:8443 -admin 127.0.0.1:9443 &
//	go tool pprof -top http://127.0.0.1:9443/debug/pprof/profile?seconds=10
//
// It exists because edgectl has no profiling flag; it is a benchmark aid, not a product.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/edge/proxy"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/schema"
)

func main() {
	repo := flag.String("repo", "", "config repo path (required)")
	keyDir := flag.String("key-dir", "", "key directory (required)")
	listen := flag.String("listen", "127.0.0.1:8443", "HTTPS listen address")
	admin := flag.String("admin", "127.0.0.1:9443", "admin listen address, with /debug/pprof/")
	maxIdle := flag.Int("max-idle", 0, "proxy.Options.MaxIdleConnsPerUpstream; 0 keeps edge's default")
	flag.Parse()
	if err := run(*repo, *keyDir, *listen, *admin, *maxIdle); err != nil {
		fmt.Fprintf(os.Stderr, "profile: %v\n", err)
		os.Exit(1)
	}
}

func run(repo, keyDir, listen, admin string, maxIdle int) error {
	if repo == "" || keyDir == "" {
		return fmt.Errorf("-repo and -key-dir are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	src, err := reconcile.NewGitSource(reconcile.GitSourceOptions{URL: repo, Logger: log})
	if err != nil {
		return err
	}
	srv := edge.NewServer(edge.Options{
		Listen: listen, HTTPListen: "off", AdminListen: admin, Logger: log,
		Proxy: proxy.Options{MaxIdleConnsPerUpstream: maxIdle},
	})
	agent, err := reconcile.NewAgent(reconcile.AgentOptions{
		Source:     src,
		Loader:     schema.NewLoader(schema.LoaderOptions{LenientExpiry: true}),
		Keys:       reconcile.DirKeys{Dir: keyDir},
		Publisher:  srv,
		Interval:   time.Hour,
		Logger:     log,
		Registerer: srv.Registry(),
	})
	if err != nil {
		return err
	}
	mux := srv.AdminMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	if err := srv.Start(ctx); err != nil {
		return err
	}
	loop := make(chan error, 1)
	go func() { loop <- agent.Run(ctx) }()
	<-ctx.Done()
	<-loop
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
