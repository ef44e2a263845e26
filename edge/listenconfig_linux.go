package edge

import (
	"fmt"
	"syscall"
)

// listenKeepAlive enables keep-alive on a listening socket (a net.ListenConfig Control
// function): on Linux the sockets it accepts inherit SO_KEEPALIVE and the TCP_KEEP*
// values, and their keep-alive timer starts with the connection.
var listenKeepAlive = func(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		for _, o := range [...]struct{ level, opt, v int }{
			{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
			{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, int(keepAliveIdle.Seconds())},
			{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, int(keepAliveInterval.Seconds())},
			{syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, keepAliveCount},
		} {
			if serr = syscall.SetsockoptInt(int(fd), o.level, o.opt, o.v); serr != nil {
				serr = fmt.Errorf("edge: listen %s: keep-alive option %d: %w", address, o.opt, serr)
				return
			}
		}
	})
	if err != nil {
		return fmt.Errorf("edge: listen %s: %w", address, err)
	}
	return serr
}
