package passthrough

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/tests/testenv"
)

// firstBytes returns an upstream that sends the first n bytes it reads on got.
func firstBytes(t *testing.T, n int, got chan<- []byte) string {
	return edgetest.TCPServer(t, func(c net.Conn) {
		defer c.Close()
		b := make([]byte, n)
		io.ReadFull(c, b)
		got <- b
		io.Copy(io.Discard, c)
	})
}

// recv returns what ch sends within 10 s.
func recv(t *testing.T, ch <-chan []byte) []byte {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received after 10 s")
		return nil
	}
}

// On loopback TryOpen connects and writes without waiting: it returns the connection
// (an upConn), counted open on its upstream until Done, and no Pending.
func TestTryOpenAtOnce(t *testing.T) {
	got := make(chan []byte, 1)
	p, err := NewPool("s", site.Passthrough{Upstreams: []string{firstBytes(t, 5, got)}, Balance: site.LeastConn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, u, pd := p.TryOpen([]byte("first"))
	if pd != nil || c == nil {
		t.Fatalf("TryOpen = %v, %v; want a connection", c, pd)
	}
	if _, ok := c.(*upConn); !ok {
		t.Errorf("opened a %T", c)
	}
	if n := u.open.Load(); n != 1 {
		t.Errorf("open count %d; want 1", n)
	}
	if b := recv(t, got); string(b) != "first" {
		t.Errorf("upstream read %q", b)
	}
	c.Close()
	u.Done()
	if n := u.open.Load(); n != 0 {
		t.Errorf("open count %d after Done; want 0", n)
	}
}

// A connect left in progress (a full accept queue) makes TryOpen return a Pending
// holding it, the upstream counted open; Open then waits for it up to the connect
// timeout, reports and ejects it, and fails over to the next upstream, which reads first.
func TestTryOpenPendingFailsOver(t *testing.T) {
	got := make(chan []byte, 1)
	stuck, good := edgetest.StuckListener(t), firstBytes(t, 5, got)
	p, err := NewPool("s", site.Passthrough{Upstreams: []string{stuck, good}, ConnectTimeout: 100 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _, pd := p.TryOpen([]byte("first"))
	if pd == nil || pd.c == nil || pd.up != p.ups[0] {
		t.Fatalf("TryOpen = %v, %+v; want the stuck upstream's connection pending", c, pd)
	}
	if n := p.ups[0].open.Load(); n != 1 {
		t.Errorf("stuck upstream's open count %d while pending; want 1", n)
	}
	var failed []string
	c, u, err := pd.Open(context.Background(), []byte("first"), time.Minute, func(a string, err error) {
		failed = append(failed, a)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: %v; want the connect timeout", a, err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer u.Done()
	if u != p.ups[1] || len(failed) != 1 || failed[0] != stuck {
		t.Errorf("opened %s, failed %v; want %s, [%s]", u.Addr, failed, good, stuck)
	}
	if b := recv(t, got); string(b) != "first" {
		t.Errorf("upstream read %q", b)
	}
	if n := p.ups[0].open.Load(); n != 0 || p.ups[0].available(time.Now().UnixNano()) {
		t.Errorf("stuck upstream: open count %d, available %v; want 0, ejected", n, p.ups[0].available(time.Now().UnixNano()))
	}
}

// A refused connect fails TryOpen at once: the Pending holds the failure, which Open
// reports (and ejects) before it fails over. An upstream given by host name is not
// tried by TryOpen: Open dials it.
func TestTryOpenRefusedAndHostName(t *testing.T) {
	got := make(chan []byte, 1)
	dead, good := testenv.DeadAddr(t), firstBytes(t, 5, got)
	p, err := NewPool("s", site.Passthrough{Upstreams: []string{dead, good}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, pd := p.TryOpen([]byte("first"))
	if pd == nil || pd.c != nil || pd.err == nil {
		t.Fatalf("TryOpen's Pending %+v; want the refusal", pd)
	}
	var failed []string
	c, u, err := pd.Open(context.Background(), []byte("first"), time.Minute, func(a string, _ error) { failed = append(failed, a) })
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	u.Done()
	if u != p.ups[1] || len(failed) != 1 || failed[0] != dead {
		t.Errorf("opened %s, failed %v; want %s, [%s]", u.Addr, failed, good, dead)
	}
	recv(t, got)

	_, port, _ := net.SplitHostPort(good)
	p, _ = NewPool("s", site.Passthrough{Upstreams: []string{"localhost:" + port}}, nil)
	_, _, pd = p.TryOpen([]byte("first"))
	if pd == nil || pd.up != nil {
		t.Fatalf("TryOpen's Pending %+v; want nothing tried", pd)
	}
	c, u, err = pd.Open(context.Background(), []byte("first"), time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer u.Done()
	if _, ok := c.(*upConn); ok || !bytes.Equal(recv(t, got), []byte("first")) {
		t.Errorf("host name opened as %T", c)
	}
}
