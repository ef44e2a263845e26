//go:build !linux

package edge

import "net"

// deferAccept is Linux's TCP_DEFER_ACCEPT; elsewhere connections are accepted at once.
func deferAccept(net.Listener, int) {}
