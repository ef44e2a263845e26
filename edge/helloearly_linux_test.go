package edge

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
)

// readyListener accepts a connection only once bytes have arrived on it (peeked, not
// read): earlyListener then always finds the ClientHello there.
type readyListener struct{ net.Listener }

func (l readyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		return err != syscall.EAGAIN
	})
	c.SetReadDeadline(time.Time{})
	return c, nil
}

// A connection whose ClientHello for a passthrough site is there at accept is passed
// through from Accept (the client sees the app's certificate and answers, and it is
// counted); one for another name is returned by Accept with its bytes recorded.
func TestPassthroughEarlyRoute(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test")
	srv := startServer(t, Options{})
	publish(t, srv, 1, ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}}, "pt.test"), testSite(t, "web", "web.test"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	el := earlyListener{readyListener{ln}, srv}
	returned := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := el.Accept()
			if err != nil {
				close(returned)
				return
			}
			returned <- c
		}
	}()

	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := tlsClient(t, raw, clientTLS(t, "pt.test"))
	if got, err := echo(c, bufio.NewReader(c), "early"); err != nil || got != "app early" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	if n := metricValue(t, srv, metricPTConns, map[string]string{"site": "pt"}); n != 1 {
		t.Errorf("connections passed through: %v", n)
	}

	web, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	go tls.Client(web, clientTLS(t, "web.test")).Handshake()
	got := <-returned
	hc, ok := got.(*helloConn)
	if !ok {
		t.Fatalf("Accept returned %T", got)
	}
	defer hc.Close()
	hello := make([]byte, 5)
	if _, err := io.ReadFull(hc, hello); err != nil || hello[0] != 0x16 {
		t.Fatalf("the recorded ClientHello starts %x, %v", hello, err)
	}
}

// gateListener makes earlyListener's path certain: early waits for the client's bytes
// before Accept returns (the early route), late tells the client to send only once the
// connection is accepted (the slow path, as when the ClientHello arrives later).
type gateListener struct {
	net.Listener
	early    bool
	accepted chan struct{}
}

func (l gateListener) Accept() (net.Conn, error) {
	if l.early {
		return readyListener{l.Listener}.Accept()
	}
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted <- struct{}{}
	}
	return c, err
}

// BenchmarkPassthroughConnRoute is BenchmarkPassthroughConn through either path of
// earlyListener (the allocations are the process's: edge, client and echo server).
func BenchmarkPassthroughConnRoute(b *testing.B) {
	for _, early := range []bool{true, false} {
		name := map[bool]string{true: "early", false: "late"}[early]
		b.Run(name, func(b *testing.B) {
			up := startEchoServer(b)
			srv := startServer(b, Options{})
			publish(b, srv, 1, ptSite("raw", site.Passthrough{Upstreams: []string{up}}, "raw.test"))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			gl := gateListener{ln, early, make(chan struct{}, 1)}
			hs := &http.Server{Handler: http.NotFoundHandler(), ErrorLog: log.New(io.Discard, "", 0)}
			go hs.Serve(tls.NewListener(earlyListener{gl, srv}, srv.tlsConfig))
			defer hs.Close()
			hello := recordClientHello(b, "raw.test")
			buf := make([]byte, len(hello))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := edgetest.ProcessCPU()
			for range b.N {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				if !early {
					<-gl.accepted
				}
				if _, err := c.Write(hello); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil || !bytes.Equal(buf, hello) {
					b.Fatalf("echo: %v", err)
				}
				c.Close()
			}
			b.ReportMetric(float64(edgetest.ProcessCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		})
	}
}

// A client that connects and sends nothing is still closed by the handshake timeout
// (TCP_DEFER_ACCEPT has the kernel hand it over after about a second).
func TestSilentConnectionClosed(t *testing.T) {
	app := startTLSApp(t, "app", false, "pt.test")
	srv := startServer(t, Options{Limits: Limits{ReadHeaderTimeout: 300 * time.Millisecond}})
	publish(t, srv, 1, ptSite("pt", site.Passthrough{Upstreams: []string{app.addr}}, "pt.test"))
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expectClosed(t, c)
	if n := metricValue(t, srv, metricHandshakeErrors, map[string]string{"reason": "timeout"}); n != 1 {
		t.Errorf("handshake timeouts = %v, want 1", n)
	}
}
