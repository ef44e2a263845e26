package proxy

import (
	"net"
	"os"
	"syscall"

	"github.com/edgectl/edge/edge/internal/rawio"
)

// rawConnOf returns the raw connection of conn when the request's last bytes may be sent
// with sendAndWait: a plain TCP connection (not a wrapper, which must see every write)
// with a non-blocking descriptor, on Linux (rawio).
func rawConnOf(conn net.Conn) syscall.RawConn { return rawio.RawConn(conn) }

// sendAndWait writes p, a request's last bytes, and waits until the response's first
// bytes may be read, in one step: the poller is made ready for the read before the write
// (RawConn.Read), so the wait needs no read that fails first (a read system call that
// finds nothing yet, on every request, as net.Conn's Read makes before it waits). A
// failed wait (the read deadline, a cancellation, the connection closed) is left for the
// read that follows to meet; what the write could not send at once (a full send buffer)
// or before the wait was set up goes through conn.Write. Bytes, a FIN or an error that
// came before the call end the wait at once (rawio.Pending), as a read would.
func (pc *h1Conn) sendAndWait(p []byte) (int, error) {
	s := &pc.sw
	s.p, s.n, s.started, s.err = p, 0, false, nil
	if s.step == nil {
		s.step = s.run // made once per connection: RawConn.Read's argument escapes
	}
	pc.raw.Read(s.step)
	n, werr := s.n, s.err
	s.p, s.err = nil, nil
	if werr != nil {
		// What net.Conn's Write returns.
		return n, rawio.OpError(pc.conn, os.NewSyscallError("write", werr))
	}
	if n < len(p) {
		m, err := pc.conn.Write(p[n:])
		return n + m, err
	}
	return n, nil
}

// sendWait is sendAndWait's state, kept by the connection.
type sendWait struct {
	step    func(fd uintptr) bool // run
	p       []byte
	n       int   // bytes of p written
	started bool  // the write was made: the next call is after the wait
	err     error // the write's error
}

// run is RawConn.Read's function: the first call writes, and asks to wait unless the
// write failed or was short; the next one ends the wait.
func (s *sendWait) run(fd uintptr) bool {
	if s.started {
		return true // readable, or woken for a deadline or a close
	}
	s.started = true
	for s.n < len(s.p) {
		m, err := rawio.Once(fd, s.p[s.n:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return true
		case err != nil:
			s.err = err
			return true
		case m <= 0:
			return true
		}
		s.n += m
	}
	// RawConn.Read made the poller forget any readiness it had seen: what came before
	// (the FIN of an upstream that half-closed the idle connection, an early response)
	// would give no new event, and the wait would last until the header timeout, or
	// forever. One zero-timeout poll tells; what comes after it does wake the wait.
	return rawio.Pending(fd)
}
