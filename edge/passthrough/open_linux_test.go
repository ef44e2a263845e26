package passthrough

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
)

// The fast path takes literal addresses (an *upConn), and a connect that does not
// complete ends with the connect timeout, or with the context (the drain).
func TestOpenFastPending(t *testing.T) {
	addr := edgetest.StuckListener(t)
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
