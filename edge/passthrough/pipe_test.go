package passthrough

import (
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

// A half-close of the client reaches the upstream, which can still answer; bytes are
// counted per direction; Pipe returns once both directions ended.
func TestPipeHalfClose(t *testing.T) {
	client, edgeSide := tcpPair(t)
	upSide, upstream := tcpPair(t)
	var toUp, toClient int64
	done := make(chan error, 1)
	go func() {
		err := Pipe(edgeSide, upSide, time.Minute, func(up bool, n int64) {
			if up {
				toUp += n
			} else {
				toClient += n
			}
		})
		edgeSide.Close() // as the caller does: the last FIN comes with Close
		upSide.Close()
		done <- err
	}()
	client.Write([]byte("request"))
	client.CloseWrite()
	got, err := io.ReadAll(upstream) // ends at the half-close
	if err != nil || string(got) != "request" {
		t.Fatalf("upstream read %q, %v", got, err)
	}
	upstream.Write([]byte("response"))
	upstream.CloseWrite()
	got, err = io.ReadAll(client)
	if err != nil || string(got) != "response" {
		t.Fatalf("client read %q, %v", got, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if toUp != 7 || toClient != 8 {
		t.Errorf("counted %d up, %d down", toUp, toClient)
	}
}
