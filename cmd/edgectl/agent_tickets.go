package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/edgectl/edge/edge"
	"github.com/edgectl/edge/reconcile"
	"github.com/edgectl/edge/reconcile/keysource"
)

// sessionTicketConfig is the fleet-wide TLS session resumption: session ticket keys shared
// through Vault (reconcile.TicketSync).
type sessionTicketConfig struct {
	// Off keeps the keys local to this agent (rotated every 12h) even with --keys vault.
	Off bool
	// Rotation is how long one version of the keys is current.
	Rotation time.Duration
	// Path is the KV v2 secret "<mount>/<path>" holding them.
	Path string
}

// defaultTicketRotation is --session-ticket-rotation's default.
const defaultTicketRotation = 6 * time.Hour

// add registers the flags on f.
func (c *sessionTicketConfig) add(f *flag.FlagSet) {
	f.Func("session-tickets", "share TLS session ticket keys with the fleet through Vault, so a client resumes its session on any agent: on (default; needs --keys vault) or off [EDGE_SESSION_TICKETS]", func(s string) error {
		switch s {
		case "on", "true", "":
			c.Off = false
		case "off", "false":
			c.Off = true
		default:
			return fmt.Errorf("%q: want on or off", s)
		}
		return nil
	})
	f.DurationVar(&c.Rotation, "session-ticket-rotation", defaultTicketRotation, "how long one version of the fleet's session ticket keys encrypts before one agent rotates them (1s to under 24h) [EDGE_SESSION_TICKET_ROTATION]")
	f.StringVar(&c.Path, "session-ticket-path", keysource.DefaultTicketKeysPath, "Vault KV v2 secret <mount>/<path> holding the fleet's session ticket keys [EDGE_SESSION_TICKET_PATH]")
}

// startSessionTickets starts sharing srv's session ticket keys through Vault until ctx is
// done, when the keys come from Vault and sharing is not off.
func startSessionTickets(ctx context.Context, c agentConfig, keys keysource.Source, srv *edge.Server, log *slog.Logger) error {
	vk, ok := keys.(*keysource.Vault)
	if c.SessionTickets.Off || !ok {
		return nil
	}
	rot := c.SessionTickets.Rotation
	if rot == 0 {
		rot = defaultTicketRotation
	}
	sync, err := reconcile.NewTicketSync(reconcile.TicketSyncOptions{
		Store: vk, Path: c.SessionTickets.Path, Rotation: rot,
		Install: srv.SetSessionTicketKeys, Logger: log, Registerer: srv.Registry(),
	})
	if err != nil {
		return err
	}
	go sync.Run(ctx)
	return nil
}
