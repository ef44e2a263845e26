package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// quietLogger discards everything; tests assert on behaviour, not log lines.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// startServer starts a server on loopback free ports with opts (addresses default to
// 127.0.0.1:0) and shuts it down when the test ends.
func startServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if opts.HTTPListen == "" {
		opts.HTTPListen = "127.0.0.1:0"
	}
	if opts.AdminListen == "" {
		opts.AdminListen = "127.0.0.1:0"
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger
	}
	if opts.Limits.HTTP2Server == "" { // EDGE_TEST_HTTP2_SERVER=go runs the tests on net/http's
		opts.Limits.HTTP2Server = HTTP2Server(os.Getenv("EDGE_TEST_HTTP2_SERVER"))
	}
	s := NewServer(opts)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

// publish builds and swaps a snapshot of sites, failing the test on error.
func publish(t testing.TB, s *Server, gen uint64, sites ...*Site) *Snapshot {
	t.Helper()
	snap, err := s.build(gen, "rev", sites)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.swap(snap); err != nil {
		t.Fatal(err)
	}
	return snap
}

// clientTLS returns a client configuration trusting the test CA.
func clientTLS(t testing.TB, serverName string) *tls.Config {
	return &tls.Config{RootCAs: ca(t).Pool(), ServerName: serverName}
}

// httpClient returns a client that connects to addr whatever the URL's host, with TLS
// SNI serverName (the URL's host if empty) and HTTP/2 unless h1.
func httpClient(t testing.TB, addr net.Addr, h1 bool) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr.String())
		},
		TLSClientConfig:   &tls.Config{RootCAs: ca(t).Pool()},
		ForceAttemptHTTP2: !h1,
	}
	if h1 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// get does a GET and returns the status, body and response; the body is read and closed.
func get(t testing.TB, c *http.Client, url string, hdr ...string) (int, string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp.StatusCode, string(b), resp
}

// port returns the port of a TCP address as a string.
func port(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// writeCAFile writes the test CA certificate as PEM into a temp file for curl.
func writeCAFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca(t).Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// leafOf returns the leaf certificate the server presented on conn.
func leafOf(cs tls.ConnectionState) *x509.Certificate {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	return cs.PeerCertificates[0]
}

type tcpAddr struct{ host, port string }

func (a *tcpAddr) resolve(t testing.TB) net.Addr {
	ra, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(a.host, a.port))
	if err != nil {
		t.Fatal(err)
	}
	return ra
}
