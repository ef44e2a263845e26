//go:build !linux

package edge

import "net"

// newLoopAccept returns l: event loops that accept are Linux's (loopaccept_linux.go).
func (s *Server) newLoopAccept(l *limitListener) net.Listener { return l }
