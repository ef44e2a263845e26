package h2srv

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// pipeConn is a client connection to a fork server over net.Pipe (h2c, prior
// knowledge): the server side is the real serve loop, the client x/net's transport.
type pipeConn struct {
	cc   *http2.ClientConn
	done chan struct{} // closed when ServeConn returned
}

// newPipeConn serves h on one end of a net.Pipe and returns a client on the other; the
// cleanup closes both and waits (at most 10 s) for the server to return. With a pool,
// the server's handlers run on it instead of handlerWorkers.
func newPipeConn(t *testing.T, h http.Handler, pool *handlerPool) *pipeConn {
	t.Helper()
	srvEnd, cliEnd := net.Pipe()
	p := &pipeConn{done: make(chan struct{})}
	hs := &http.Server{ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		defer close(p.done)
		(&Server{}).serveConn(srvEnd, &ServeConnOpts{Handler: h, BaseConfig: hs}, func(sc *serverConn) {
			if pool != nil {
				sc.workers = pool
			}
		})
	}()
	cc, err := (&http2.Transport{AllowHTTP: true}).NewClientConn(cliEnd)
	if err != nil {
		t.Fatal(err)
	}
	p.cc = cc
	t.Cleanup(func() {
		cc.Close()
		cliEnd.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Error("ServeConn did not return within 10 s of the client closing")
		}
	})
	return p
}

// get requests path and returns the status and body, or the error.
func (p *pipeConn) get(path string) (int, string, error) {
	req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://pipe.test"+path, nil)
	resp, err := p.cc.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitFor polls cond until it holds, failing the test after 10 s with what.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
