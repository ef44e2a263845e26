package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/tests/testca"
)

// TestDemoTLSApp starts the TLS sample app (hello-tls.js with node, and the built-in Go
// app) with a certificate of the demo CA, and checks a real TLS client gets that very
// certificate and the app's greeting. hello-tls.js is also run with PROXY_PROTOCOL=v2 and
// sent a PROXY v2 header before the handshake: it reports the client address it carried.
func TestDemoTLSApp(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{demoSecureHost}, testca.ECDSA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := writeDemoTLSAppFiles(dir, leaf); err != nil {
		t.Fatal(err)
	}
	a := demoTLSApp{Name: "tls-app", CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	want := sha256.Sum256(leaf.TLS.Certificate[0])
	for _, kind := range []string{"go", "node"} {
		t.Run(kind, func(t *testing.T) {
			if kind == "node" {
				needNode(t)
			}
			p, err := freePort()
			if err != nil {
				t.Fatal(err)
			}
			a.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
			app, err := startDemoTLSApp(context.Background(), kind, t.TempDir(), a, os.Stderr)
			if err != nil {
				t.Fatal(err)
			}
			defer app.stop(5 * time.Second)
			body, fp := tlsGet(t, ca, a.Addr, nil)
			if fp != want {
				t.Error("the app served a certificate other than its own")
			}
			if !strings.Contains(body, "hello from tls-app ("+kind) || !strings.Contains(body, "(SNI "+demoSecureHost+")") {
				t.Errorf("body %q; want the %s TLS app's greeting naming the SNI", body, kind)
			}
		})
	}
	t.Run("node PROXY v2", func(t *testing.T) {
		needNode(t)
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		a.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		script := filepath.Join(t.TempDir(), "hello-tls.js")
		if err := os.WriteFile(script, helloTLSJS, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("node", script)
		cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(p), "HOST=127.0.0.1", "APP_NAME=tls-app",
			"TLS_CERT="+a.CertFile, "TLS_KEY="+a.KeyFile, "PROXY_PROTOCOL=v2")
		app, err := startNodeApp(context.Background(), cmd, "tls-app", a.Addr, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		defer app.stop(5 * time.Second)
		body, _ := tlsGet(t, ca, a.Addr, proxyV2Header(net.IPv4(203, 0, 113, 7), 4242))
		if !strings.Contains(body, "client (PROXY v2): 203.0.113.7:4242") {
			t.Errorf("body %q; want the client address of the PROXY v2 header", body)
		}
	})
}

func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node not found; CI installs nodejs")
		}
		t.Skip("node not found (apt-get install nodejs)")
	}
}

// proxyV2Header is a PROXY protocol v2 header for a TCP/IPv4 connection from src:port.
func proxyV2Header(src net.IP, port uint16) []byte {
	h := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c")
	h = append(h, src.To4()...)
	h = append(h, 127, 0, 0, 1)
	h = binary.BigEndian.AppendUint16(h, port)
	return binary.BigEndian.AppendUint16(h, 443)
}

// tlsGet sends pre (if any), then does a TLS handshake for demoSecureHost trusting ca and
// a GET /; it returns the body and the SHA-256 of the certificate the server presented.
func tlsGet(t *testing.T, ca *testca.CA, addr string, pre []byte) (string, [32]byte) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := raw.Write(pre); err != nil {
		t.Fatal(err)
	}
	c := tls.Client(raw, &tls.Config{ServerName: demoSecureHost, RootCAs: ca.Pool(), NextProtos: []string{"http/1.1"}})
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+demoSecureHost+"\r\nConnection: close\r\n\r\n")
	b, err := io.ReadAll(c)
	if err != nil && len(b) == 0 {
		t.Fatal(err)
	}
	return string(b), sha256.Sum256(c.ConnectionState().PeerCertificates[0].Raw)
}
