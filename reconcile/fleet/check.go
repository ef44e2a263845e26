package fleet

import (
	"context"
	"net"
	"time"
)

// Checker checks a fleet: it loads the peer list, resolves dns: names, reads every agent's
// status and summarises.
type Checker struct {
	Peers  Peers
	Client *Client
	// Resolver looks up dns: names; nil: net.DefaultResolver.
	Resolver *net.Resolver
	Fetch    FetchOptions
}

// Check checks the fleet against want (see Summarize). The error is the peer list's (a file
// that cannot be read or holds a bad address); agents that cannot be reached are in the
// Summary.
func (c *Checker) Check(ctx context.Context, want string) (Summary, error) {
	addrs, err := c.Peers.Load()
	if err != nil {
		return Summary{}, err
	}
	targets := Resolve(ctx, c.Resolver, addrs)
	return Summarize(Fetch(ctx, c.Client, targets, c.Fetch), want, time.Now()), nil
}
