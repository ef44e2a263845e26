package passthrough

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// stuckListener returns the address of a listening socket whose accept queue is full
// (backlog 0, one connection queued and never accepted): the kernel drops further SYNs,
// so a connect to it stays pending.
func stuckListener(t *testing.T) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()
	for range 2 { // fill the queue (backlog 0 admits one, some kernels two)
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return addr
}

// The fast path takes literal addresses (an *upConn), and a connect that does not
// complete ends with the connect timeout, or with the context (the drain).
func TestOpenFastPending(t *testing.T) {
	addr := stuckListener(t)
	p, err := NewPool("s", site.Passthrough{Upstreams: []string{addr}, ConnectTimeout: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Open(context.Background(), []byte("x"), time.Minute, nil); !errors.Is(err, ErrNoUpstream) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}
	p, _ = NewPool("s", site.Passthrough{Upstreams: []string{addr}, ConnectTimeout: time.Hour}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	failed := make(chan struct{})
	go func() {
		_, _, err = p.Open(ctx, []byte("x"), time.Minute, nil)
		close(failed)
	}()
	cancel()
	<-failed
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// An upstream given by a literal address is opened by openFast.
func TestOpenFastPath(t *testing.T) {
	addr := listen(t)
	p, err := NewPool("s", site.Passthrough{Upstreams: []string{addr}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, u, err := p.Open(context.Background(), []byte("x"), time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Done()
	defer c.Close()
	if _, ok := c.(*upConn); !ok {
		t.Fatalf("opened a %T", c)
	}
	if c.RemoteAddr().String() != addr || c.LocalAddr() == nil {
		t.Errorf("addresses %v -> %v", c.LocalAddr(), c.RemoteAddr())
	}
}
