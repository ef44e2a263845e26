//go:build !unix

package proxy

import (
	"net"
	"syscall"
)

// rawConnOf returns nil: sendAndWait is for unix systems.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// sendAndWait is conn.Write (rawConnOf gives it no connection).
func (pc *h1Conn) sendAndWait(p []byte) (int, error) { return pc.conn.Write(p) }

// sendWait is sendAndWait's state on unix systems.
type sendWait struct{}
