package passthrough

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// chunk is how much one splice call may move before the copy loop accounts for it.
const chunk = 256 << 10

// errNoPipe is a splicer's when no pipe could be made (too many open files): the
// direction copies through user space instead.
var errNoPipe = errors.New("passthrough: no pipe for splice")

// ErrIdle ends a Pipe in which no byte moved for the idle timeout.
var ErrIdle = errors.New("passthrough: idle timeout")

// Pipe copies client to upstream and upstream to client until both directions end, then
// returns; it does not close the connections (the caller does). A direction ends at EOF,
// which is passed on as a TCP half-close (CloseWrite), so protocols that half-close keep
// working. Between *net.TCPConn, or a *net.TCPConn and an upstream opened by Pool.Open
// (a splicer), the copy is splice(2), zero-copy in the kernel.
//
// The idle timeout is kept in windows: each direction reads with a deadline of idle; a
// window without a byte marks the direction quiet, one with bytes clears the mark. The
// connection is closed (ErrIdle) when both directions are quiet, or when one is quiet
// twice in a row while the other has not finished a window for twice the timeout (its
// writes stalled: a peer that stopped reading). So an idle connection closes between one
// and two timeouts after its last byte. Any other error closes both connections at once.
// count is called with the bytes moved, up being true for client to upstream.
func Pipe(client, upstream net.Conn, idle time.Duration, count func(up bool, n int64)) error {
	dirs := [2]direction{{up: true, src: client, dst: upstream}, {src: upstream, dst: client}}
	if toUp, toClient, ok := rawPair(client, upstream); ok {
		dirs[0].splicer, dirs[1].splicer = toUp, toClient
	}
	now := time.Now().UnixNano()
	dirs[0].last.Store(now)
	dirs[1].last.Store(now)
	var wg sync.WaitGroup
	var errs [2]error
	run := func(i int) {
		errs[i] = dirs[i].copy(&dirs[1-i], idle, count)
		if errs[i] != nil {
			client.Close()
			upstream.Close()
		}
	}
	wg.Add(1)
	Go(func() {
		defer wg.Done()
		run(1)
	})
	run(0) // one goroutine fewer per connection
	wg.Wait()
	if errors.Is(errs[0], ErrIdle) || errors.Is(errs[1], ErrIdle) {
		return ErrIdle
	}
	return errors.Join(errs[:]...)
}

// direction is one way of a Pipe.
type direction struct {
	up       bool
	src, dst net.Conn
	splicer  *splicer     // set by rawPair, else ReadFrom copies
	quiet    atomic.Int32 // consecutive windows without a byte; -1: ended (EOF)
	last     atomic.Int64 // Unix ns the last window ended
}

// copy moves src to dst in windows of idle until EOF (nil) or an error.
func (d *direction) copy(other *direction, idle time.Duration, count func(bool, int64)) error {
	for {
		deadline := time.Now().Add(idle)
		d.src.SetReadDeadline(deadline)
		n, eof, err := d.move()
		d.last.Store(time.Now().UnixNano())
		if n > 0 {
			count(d.up, n)
			d.quiet.Store(0)
		}
		switch {
		case eof:
			// Pass the half-close on, unless the other way has ended too: then the caller's
			// Close sends the FIN (one system call fewer per connection).
			d.quiet.Store(-1)
			if other.quiet.Load() != -1 {
				if cw, ok := d.dst.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite()
				}
			}
			return nil
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			if n == 0 && d.idle(other, idle) {
				return ErrIdle
			}
		default:
			if other.quiet.Load() == -1 && errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// move copies one chunk (up to chunk bytes, fewer at the end of src); eof reports the
// end of src.
func (d *direction) move() (n int64, eof bool, err error) {
	if d.splicer != nil {
		n, err = d.splicer.splice(chunk)
		if err != errNoPipe {
			return n, err == nil && n < chunk, err
		}
		noPipe()
		d.splicer = nil // this direction copies through user space from now on
	}
	lr := io.LimitedReader{R: d.src, N: chunk}
	n, err = readFrom(d.dst, &lr)
	return n, err == nil && lr.N > 0, err
}

// idle records a quiet window and reports whether the connection is idle.
func (d *direction) idle(other *direction, idle time.Duration) bool {
	q := d.quiet.Add(1)
	o := other.quiet.Load()
	stalled := time.Now().UnixNano()-other.last.Load() > int64(2*idle)
	return o != 0 || (q >= 2 && stalled)
}

// readFrom is dst.ReadFrom(src): splice(2) when both are *net.TCPConn.
func readFrom(dst net.Conn, src *io.LimitedReader) (int64, error) {
	if rf, ok := dst.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(dst, src)
}
