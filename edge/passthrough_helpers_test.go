package edge

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// tlsApp is a Go TLS server standing for an app that terminates TLS itself: it answers
// each line with "<name> <line>", and, when proxy is set, first reads a PROXY v2 header
// and records the client address it announces.
type tlsApp struct {
	name    string
	addr    string
	cert    tls.Certificate
	mu      sync.Mutex
	clients []string // addresses announced by PROXY headers
	conns   int
}

// startTLSApp starts a tlsApp with a certificate of the test CA for names.
func startTLSApp(t testing.TB, name string, proxy bool, names ...string) *tlsApp {
	t.Helper()
	a := &tlsApp{name: name, cert: cert(t, names...)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	a.addr = ln.Addr().String()
	conf := &tls.Config{Certificates: []tls.Certificate{a.cert}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go a.serve(c, conf, proxy)
		}
	}()
	return a
}

func (a *tlsApp) serve(c net.Conn, conf *tls.Config, proxy bool) {
	defer c.Close()
	a.mu.Lock()
	a.conns++
	a.mu.Unlock()
	if proxy {
		src, err := readProxyV2(c)
		if err != nil {
			return
		}
		a.mu.Lock()
		a.clients = append(a.clients, src)
		a.mu.Unlock()
	}
	tc := tls.Server(c, conf)
	br := bufio.NewReader(tc)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if strings.HasPrefix(line, "bulk ") {
			var n int
			fmt.Sscanf(line, "bulk %d", &n)
			tc.Write(bytes.Repeat([]byte{'x'}, n))
			continue
		}
		if _, err := io.WriteString(tc, a.name+" "+line); err != nil {
			return
		}
	}
}

// announced returns the client addresses the app received in PROXY headers.
func (a *tlsApp) announced() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.clients...)
}

// readProxyV2 reads a PROXY protocol v2 header (TCP over IPv4 or IPv6) as its spec lays it
// out and returns the source address.
func readProxyV2(r io.Reader) (string, error) {
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", err
	}
	if !bytes.Equal(hdr[:12], []byte("\r\n\r\n\x00\r\nQUIT\n")) || hdr[12] != 0x21 {
		return "", fmt.Errorf("not a PROXY v2 PROXY header: %x", hdr)
	}
	body := make([]byte, binary.BigEndian.Uint16(hdr[14:]))
	if _, err := io.ReadFull(r, body); err != nil {
		return "", err
	}
	switch {
	case hdr[13] == 0x11 && len(body) >= 12:
		return net.JoinHostPort(net.IP(body[0:4]).String(), fmt.Sprint(binary.BigEndian.Uint16(body[8:]))), nil
	case hdr[13] == 0x21 && len(body) >= 36:
		return net.JoinHostPort(net.IP(body[0:16]).String(), fmt.Sprint(binary.BigEndian.Uint16(body[32:]))), nil
	}
	return "", fmt.Errorf("family %#x, length %d", hdr[13], len(body))
}

// ptSite returns a passthrough site of hosts to upstreams.
func ptSite(name string, p site.Passthrough, hosts ...string) *Site {
	return &Site{Site: site.Site{Name: name, Hosts: hosts, Passthrough: &p}}
}

// ptDial connects to the edge at addr with SNI name and completes the handshake.
func ptDial(t testing.TB, addr net.Addr, name string) (*tls.Conn, error) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr.String(), clientTLS(t, name))
	if err != nil {
		return nil, err
	}
	return c, nil
}

// echo sends line and returns the answer line.
func echo(c net.Conn, br *bufio.Reader, line string) (string, error) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	s, err := br.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}

// waitFor polls cond every 10ms until it holds or 10s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// tlsClient is tls.Client with the handshake done; a failed handshake fails the test.
func tlsClient(t testing.TB, c net.Conn, conf *tls.Config) *tls.Conn {
	t.Helper()
	tc := tls.Client(c, conf)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return tc
}
