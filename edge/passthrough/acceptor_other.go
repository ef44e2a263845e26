//go:build !linux

package passthrough

import (
	"errors"
	"net"
	"syscall"
)

// AcceptHandler is what an Acceptor's loop calls (Linux: acceptor_linux.go).
type AcceptHandler interface {
	Admit() bool
	Unadmit()
	Serve(c net.Conn)
	Yield()
}

// Acceptor: event loops that accept are Linux's; here there is none.
type Acceptor struct{}

// NewAcceptor fails: no event loops here.
func NewAcceptor(ln syscall.Conn, h AcceptHandler) (*Acceptor, error) {
	return nil, errors.New("passthrough: no event loops")
}

// Arm reports false.
func (*Acceptor) Arm() bool { return false }

// Close does nothing.
func (*Acceptor) Close() {}
