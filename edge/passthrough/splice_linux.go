package passthrough

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// spliceNonblock is SPLICE_F_NONBLOCK: the pipe never blocks (the sockets are
// non-blocking already, and the runtime poller waits for them).
const spliceNonblock = 0x2

// splicer moves bytes from src to dst with splice(2) through a pooled pipe, the way
// net.TCPConn.ReadFrom does between TCP connections, for connections it does not know
// (an upstream opened by openFast). One per direction of a Pipe: its callbacks are bound
// once, so a chunk allocates nothing.
type splicer struct {
	src, dst        syscall.RawConn
	p               *pipe
	max             int
	n               int64 // bytes the last fill moved
	serr            error
	fillFn, drainFn func(uintptr) bool
}

// newSplicer returns the splicer from src to dst.
func newSplicer(dst, src syscall.RawConn) *splicer {
	s := &splicer{src: src, dst: dst}
	s.fillFn, s.drainFn = s.fill, s.drain
	return s
}

// splice moves up to max bytes: chunks until max bytes moved (err nil), the end of src
// (err nil, fewer than max), or an error. Waiting for src honours its read deadline.
func (s *splicer) splice(max int64) (moved int64, err error) {
	if s.p = getPipe(); s.p == nil {
		return 0, errNoPipe
	}
	defer func() {
		if s.p.buffered == 0 {
			pipes.Put(s.p)
		} else {
			s.p.close() // bytes stuck in it: never reused
		}
		s.p = nil
	}()
	for moved < max {
		s.max, s.n, s.serr = int(min(max-moved, 1<<20)), 0, nil
		err := s.src.Read(s.fillFn)
		if s.serr != nil {
			s.n = 0
			if err == nil {
				err = os.NewSyscallError("splice", s.serr)
			}
		}
		s.p.buffered = int(s.n)
		if s.n == 0 || err != nil {
			return moved, err // n == 0: the end of src
		}
		before := s.p.buffered
		s.serr = nil
		err = s.dst.Write(s.drainFn)
		moved += int64(before - s.p.buffered)
		if err == nil && s.serr != nil {
			err = os.NewSyscallError("splice", s.serr)
		}
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// fill splices up to s.max bytes from src's fd into the empty pipe (a RawConn.Read
// callback).
func (s *splicer) fill(fd uintptr) bool {
	for {
		s.n, s.serr = syscall.Splice(int(fd), nil, s.p.w, nil, s.max, spliceNonblock)
		if s.serr != syscall.EINTR {
			return s.serr != syscall.EAGAIN
		}
	}
}

// drain splices the pipe's bytes to dst's fd (a RawConn.Write callback).
func (s *splicer) drain(fd uintptr) bool {
	for s.p.buffered > 0 {
		n, err := syscall.Splice(s.p.r, nil, int(fd), nil, s.p.buffered, spliceNonblock)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			s.serr = err
			return true
		}
		s.p.buffered -= int(n)
	}
	return true
}

// pipe is a kernel pipe used by splice(2); buffered counts the bytes in it. An event
// loop's connection that could have no pipe copies through a user-space buffer instead:
// buf (r and w are -1), whose bytes are buf[off:off+buffered]; so do a loop's small
// reads, in buffers from smallBufs (small set).
type pipe struct {
	r, w     int
	buffered int
	cleanup  runtime.Cleanup // closes r and w once the pool drops the pipe
	buf      []byte
	off      int
	small    bool
}

var pipes = sync.Pool{New: newPipe}

// pipeFault makes getPipe fail, as pipe2(2) does when the process or the system is out
// of descriptors (tests).
var pipeFault atomic.Bool

// getPipe returns an empty pooled pipe, or a new one; nil when none could be made (too
// many open files).
func getPipe() *pipe {
	if pipeFault.Load() {
		return nil
	}
	p := pipes.Get().(*pipe)
	if p.r < 0 {
		return nil
	}
	return p
}

// userPipeSize is the size of a user-space buffer standing for a pipe.
const userPipeSize = 64 << 10

// newUserPipe returns a user-space buffer standing for a pipe.
func newUserPipe() *pipe {
	return &pipe{r: -1, w: -1, buf: make([]byte, userPipeSize)}
}

// newPipe returns a fresh pipe (nil fds on failure: its splices fail with EBADF), closed
// by the garbage collector once the pool drops it.
func newPipe() any {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		return &pipe{r: -1, w: -1}
	}
	syscall.Syscall(syscall.SYS_FCNTL, uintptr(fds[0]), syscall.F_SETPIPE_SZ, 1<<20) // best effort
	p := &pipe{r: fds[0], w: fds[1]}
	p.cleanup = runtime.AddCleanup(p, func(fds [2]int) { syscall.Close(fds[0]); syscall.Close(fds[1]) }, fds)
	return p
}

// close closes the pipe now (its cleanup is cancelled: the fds may be reused at once).
func (p *pipe) close() {
	if p.r < 0 {
		return
	}
	p.cleanup.Stop()
	syscall.Close(p.r)
	syscall.Close(p.w)
	p.r, p.w = -1, -1
}

// rawPair returns the splicers of both directions when upstream was
// opened by openFast (net.TCPConn.ReadFrom splices between TCP connections itself, but
// not from an upstream it does not know); ok is false otherwise.
func rawPair(client, upstream any) (toUp, toClient *splicer, ok bool) {
	uc, isUp := upstream.(*upConn)
	sc, isSC := client.(syscall.Conn)
	if !isUp || !isSC {
		return nil, nil, false
	}
	c, err1 := sc.SyscallConn()
	u, err2 := uc.SyscallConn()
	if err1 != nil || err2 != nil {
		return nil, nil, false
	}
	return newSplicer(u, c), newSplicer(c, u), true
}
