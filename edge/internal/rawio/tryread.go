package rawio

import "os"

// TryRead reads into p what the socket holds now, without waiting in the poller and
// without the connection's read deadline: the bytes read, or 0 when there are none yet or
// the read would end otherwise (the peer's FIN, the connection closed), which the caller
// leaves to Read to meet. A socket error (a reset) is returned as Read returns it: the
// kernel reports it once, so a later Read would only see the end.
func (r *Reader) TryRead(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p, r.n, r.err = p, 0, nil
	if r.tryStep == nil {
		r.tryStep = r.try // made once: RawConn.Control's argument escapes
	}
	err := r.rc.Control(r.tryStep)
	n, rerr := r.n, r.err
	r.p, r.n, r.err = nil, 0, nil
	switch {
	case err != nil:
		return 0, nil
	case rerr != nil:
		return 0, readError(r.conn, os.NewSyscallError("read", rerr))
	}
	return n, nil
}

// try is TryRead's step: one read, EAGAIN leaving r.n at 0.
func (r *Reader) try(fd uintptr) { r.readOnce(fd) }
