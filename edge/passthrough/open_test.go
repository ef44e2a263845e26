package passthrough

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/tests/testenv"
)

// Open writes the first bytes to the upstream, by a literal address (the fast path on
// Linux) and by a host name (net.Dialer), and Pipe then carries both directions with
// their half-closes and counts (3 MiB one way: several chunks), as between two TCP
// connections.
func TestOpenAndPipe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	for _, addr := range []string{"127.0.0.1:" + port, "localhost:" + port} {
		t.Run(addr, func(t *testing.T) {
			p, err := NewPool("s", site.Passthrough{Upstreams: []string{addr}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			client, edgeSide := tcpPair(t)
			up, u, err := p.Open(context.Background(), []byte("hello "), time.Minute, func(a string, err error) { t.Errorf("%s: %v", a, err) })
			if err != nil {
				t.Fatal(err)
			}
			defer u.Done()
			upstream, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer upstream.Close()
			var toUp, toClient int64
			done := make(chan error, 1)
			go func() {
				err := Pipe(edgeSide, up, time.Minute, func(isUp bool, n int64) {
					if isUp {
						toUp += n
					} else {
						toClient += n
					}
				})
				edgeSide.Close()
				up.Close()
				done <- err
			}()
			client.Write([]byte("request"))
			client.CloseWrite()
			if got, err := io.ReadAll(upstream); err != nil || string(got) != "hello request" {
				t.Fatalf("upstream read %q, %v", got, err)
			}
			bulk := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16) // over a pipe and a chunk
			go func() {
				upstream.Write(bulk)
				upstream.(*net.TCPConn).CloseWrite()
			}()
			if got, err := io.ReadAll(client); err != nil || !bytes.Equal(got, bulk) {
				t.Fatalf("client read %d bytes, %v", len(got), err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if toUp != 7 || toClient != 3<<20 {
				t.Errorf("counted %d up, %d down", toUp, toClient)
			}
		})
	}
}

// A refusing upstream fails Open as a dial does: reported, ejected, ErrNoUpstream.
func TestOpenRefused(t *testing.T) {
	addr := testenv.DeadAddr(t)
	p, err := NewPool("s", site.Passthrough{Upstreams: []string{addr}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var reported []string
	_, _, err = p.Open(context.Background(), []byte("x"), time.Minute, func(a string, err error) { reported = append(reported, a) })
	if !errors.Is(err, ErrNoUpstream) || len(reported) != 1 || reported[0] != addr {
		t.Fatalf("err %v, reported %v", err, reported)
	}
	if p.ups[0].available(time.Now().UnixNano()) {
		t.Error("refusing upstream not ejected")
	}
}
