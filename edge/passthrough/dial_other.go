//go:build !linux

package passthrough

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// openFast is Pool.Open's fast path, tryFast and finishFast its halves: none here
// (net.Dialer then a write).
var (
	openFast   func(ctx context.Context, ap netip.AddrPort, timeout time.Duration, first []byte) (net.Conn, int, error)
	tryFast    func(ap netip.AddrPort, first []byte) (net.Conn, int, error)
	finishFast func(ctx context.Context, c net.Conn, timeout time.Duration, first []byte, written int) (net.Conn, int, error)
)
