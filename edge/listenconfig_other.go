//go:build !linux

package edge

import "syscall"

// listenKeepAlive is nil where accepted sockets may not inherit the listening socket's
// keep-alive: Go sets it on each accepted connection.
var listenKeepAlive func(network, address string, c syscall.RawConn) error
