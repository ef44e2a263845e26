package edge

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// closeCounter counts its Close calls.
type closeCounter struct {
	net.Conn
	closes atomic.Int32
}

func (c *closeCounter) Close() error {
	c.closes.Add(1)
	return nil
}

// A drain that closes everything while a connection is being handed to an event loop
// (start runs unlocked) does not close its socket under the loop: start kills it through
// the loop once it has it, the dial's context is cancelled, and the drain waits for it.
func TestPassthroughDrainDuringStart(t *testing.T) {
	var p passthroughConns
	c := &closeCounter{}
	ctx, done, ok := p.add(c)
	if !ok {
		t.Fatal("add refused before the drain")
	}
	var kills atomic.Int32
	drained := make(chan error, 1)
	p.start(c, func() (func(), bool) {
		go func() { drained <- p.closeAll(context.DeadlineExceeded) }()
		waitFor(t, "closeAll to mark the connection", func() bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			return p.conns[c].closed
		})
		return func() { kills.Add(1); done() }, true
	})
	if err := <-drained; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("closeAll = %v", err)
	}
	if k, n := kills.Load(), c.closes.Load(); k != 1 || n != 0 {
		t.Errorf("killed %d times, closed %d times; want killed once, never closed", k, n)
	}
	if ctx.Err() == nil {
		t.Error("the dial's context was not cancelled")
	}
	if _, _, ok := p.add(&closeCounter{}); ok {
		t.Error("a connection was taken after the drain closed everything")
	}
}

// Shutdown stops accepting at once, lets an open passthrough stream go on (bytes still
// flow both ways) until its client closes it, and then returns without error, before
// the drain's deadline.
func TestPassthroughDrainLetsStreamsFinish(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test")
	srv := startServer(t, Options{})
	publish(t, srv, 1, ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}}, "pt.test"))
	c, err := ptDial(t, srv.Addr(), "pt.test")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if got, err := echo(c, br, "before"); err != nil || got != "app before" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	waitFor(t, "the listener to stop accepting", func() bool {
		nc, err := net.DialTimeout("tcp", srv.Addr().String(), time.Second)
		if err == nil {
			nc.Close()
		}
		return err != nil
	})
	if got, err := echo(c, br, "during"); err != nil || got != "app during" {
		t.Fatalf("echo during the drain = %q, %v", got, err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned with a stream open: %v", err)
	default:
	}
	c.Close()
	select {
	case err := <-shut:
		if err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return within 10 s of the last stream's end")
	}
}
