package passthrough

import (
	"bytes"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fillLog records the reads of connections' bytes made by loops (the fill hook).
type fillLog struct {
	mu                     sync.Mutex
	small, spliced, eagain int
}

func (f *fillLog) hook(p *pipe, n int, err syscall.Errno) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err == syscall.EAGAIN:
		f.eagain++
	case p.small:
		f.small++
	case p.buf == nil:
		f.spliced++
	}
}

func (f *fillLog) counts() (small, spliced, eagain int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.small, f.spliced, f.eagain
}

// Small messages go through user-space buffers, and a read that does not fill its
// buffer clears the socket's readiness: no read is made to see EAGAIN (each message
// made two with splice, one per direction). A bulk transfer on the same connection
// then splices, all bytes intact.
func TestLoopSmallReadsThenSplice(t *testing.T) {
	var fills fillLog
	setHooks(t, &loopTestHooks{fill: fills.hook})
	echo := echoListener(t)
	client, edgeSide := tcpPair(t)
	upSide, u, err := openEcho(echo)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Done()
	r := startLoop(t, edgeSide, upSide, time.Minute)
	client.SetDeadline(time.Now().Add(10 * time.Second))
	const rounds = 20
	msg, buf := bytes.Repeat([]byte("0123456789"), 10), make([]byte, 100)
	for i := range rounds {
		client.Write(msg)
		if _, err := io.ReadFull(client, buf); err != nil || !bytes.Equal(buf, msg) {
			t.Fatalf("round %d: echo %q, %v", i, buf, err)
		}
	}
	small, spliced, eagain := fills.counts()
	if small < 2*rounds || spliced != 0 {
		t.Errorf("%d round trips: %d small reads, %d spliced; want at least %d small, none spliced", rounds, small, spliced, 2*rounds)
	}
	// A stale event (bytes read before it was taken) costs a read that sees EAGAIN;
	// every message did before.
	if eagain > rounds/2 {
		t.Errorf("%d round trips: %d reads saw EAGAIN", rounds, eagain)
	}
	if err := echoRoundTrip(client, 4<<20); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(t); err != nil {
		t.Fatal(err)
	}
	if _, spliced, _ = fills.counts(); spliced == 0 {
		t.Error("a 4 MiB echo was not spliced")
	}
	if want := int64(rounds*len(msg) + 4<<20); r.up.Load() != want || r.down.Load() != want {
		t.Errorf("counted %d up, %d down; want %d each", r.up.Load(), r.down.Load(), want)
	}
}

// waitRDHUP waits up to 10 s until c's socket has reported its peer's end.
func waitRDHUP(t *testing.T, c net.Conn) {
	t.Helper()
	fd, ok := sockFD(c)
	if !ok {
		t.Fatalf("no descriptor for %T", c)
	}
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(ep)
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		t.Fatal(err)
	}
	evs := make([]syscall.EpollEvent, 1)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if n, _ := syscall.EpollWait(ep, evs, 100); n == 1 {
			return
		}
	}
	t.Fatal("the peer's end did not arrive within 10 s")
}

// Bytes and the end of their stream that arrived together, reported in one event, on
// both sides: the read of the bytes is short, but the end brings no other event, so the
// loop reads on and passes each end on (a connection waiting for an event would hang
// until its idle timeout, a minute).
func TestLoopBytesWithEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, edgeSide := tcpPair(t)
	upSide, u, err := openEcho(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Done()
	upstream, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.Close()
	client.Write([]byte("request"))
	client.CloseWrite()
	upstream.Write([]byte("response"))
	upstream.(*net.TCPConn).CloseWrite()
	waitRDHUP(t, edgeSide)
	waitRDHUP(t, upSide)
	r := startLoop(t, edgeSide, upSide, time.Minute)
	upstream.SetDeadline(time.Now().Add(10 * time.Second))
	client.SetDeadline(time.Now().Add(10 * time.Second))
	if got, err := io.ReadAll(upstream); err != nil || string(got) != "request" {
		t.Fatalf("upstream read %q, %v", got, err)
	}
	if got, err := io.ReadAll(client); err != nil || string(got) != "response" {
		t.Fatalf("client read %q, %v", got, err)
	}
	if err := r.wait(t); err != nil {
		t.Fatal(err)
	}
}
