package edge

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// TestEndRequestEndsReadOfLateCallback: endRequest ends a background read that runs while
// the watch's timer is armed again, as when the timer's callback for the previous request
// starts late, after beginRequest re-armed the timer for the next one: once endRequest
// returns, no read runs (the loop reads the connection next).
func TestEndRequestEndsReadOfLateCallback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a peer that accepts and never answers
		if c, err := ln.Accept(); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &h1Conn{tc: tls.Client(raw, &tls.Config{InsecureSkipVerify: true}), ctx: ctx, cancelConn: cancel}
	c.beginRequest(false)
	c.bg.timer.Reset(time.Hour) // armed for the next request
	c.startBackgroundRead()     // the late callback: the read starts
	c.bg.mu.Lock()
	started := c.bg.inRead
	c.bg.mu.Unlock()
	if !started {
		t.Fatal("the background read did not start")
	}
	c.endRequest()
	c.bg.mu.Lock()
	defer c.bg.mu.Unlock()
	if c.bg.inRead {
		t.Fatal("endRequest returned with the background read still running")
	}
}
