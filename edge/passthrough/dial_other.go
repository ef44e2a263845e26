//go:build !linux

package passthrough

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// openFast is Pool.Open's fast path: none here (net.Dialer then a write).
var openFast func(ctx context.Context, ap netip.AddrPort, timeout time.Duration, first []byte) (net.Conn, int, error)
