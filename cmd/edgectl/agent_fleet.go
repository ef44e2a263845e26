package main

import (
	"flag"
	"log/slog"
	"net/http"
	"time"

	"github.com/edgectl/edge/reconcile/fleet"
)

// fleetPeerFlags are the agent's flags for the page's fleet panel: the peers whose status
// GET /ui/api/fleet summarises, and the credentials to ask them with.
type fleetPeerFlags struct {
	peers string
	cf    clientFlags
}

func (p *fleetPeerFlags) add(f *flag.FlagSet) {
	f.StringVar(&p.peers, "fleet-peers", "", "agents' admin addresses whose status the admin listener serves summarised at "+fleet.APIPath+
		" for the page's fleet panel: comma-separated host:port, https://host:port, dns:host:port; an entry starting with / or . is a file of them, read again on each refresh; empty: no fleet panel [EDGE_FLEET_PEERS]")
	p.cf.add(f, "fleet-", "EDGE_FLEET_", "the peers'")
}

// fleetCacheTTL is how long the fleet summary is served before the peers are asked again.
const fleetCacheTTL = 5 * time.Second

// handler returns the fleet summary's handler, or nil without --fleet-peers.
func (p *fleetPeerFlags) handler(log *slog.Logger) (http.Handler, error) {
	if p.peers == "" {
		return nil, nil
	}
	peers, err := fleet.ParsePeers(p.peers)
	if err != nil {
		return nil, err
	}
	if _, err := peers.Load(); err != nil {
		return nil, err
	}
	client, err := p.cf.client()
	if err != nil {
		return nil, err
	}
	c := &fleet.Checker{Peers: peers, Client: client, Resolver: fleet.ResolverFromEnv()}
	return &fleet.Handler{Checker: c, TTL: fleetCacheTTL, Logger: log}, nil
}

// mountFleet serves h, if any, at fleet.APIPath on the admin listener's mux.
func mountFleet(mux *http.ServeMux, h http.Handler) {
	if h != nil {
		mux.Handle(fleet.APIPath, h)
	}
}
