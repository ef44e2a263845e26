package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// h3Client returns an HTTP/3 client whose connections all go to addr (the URL's host is
// the SNI and :authority), trusting the test CA.
func h3Client(t testing.TB, addr net.Addr) (*http.Client, *http3.Transport) {
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca(t).Pool(), ClientSessionCache: tls.NewLRUClientSessionCache(8)},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(ctx, addr.String(), tlsCfg, cfg)
		},
	}
	t.Cleanup(func() { tr.Close() })
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, tr
}

// nameBackend answers every request with name.
func nameBackend(t testing.TB, name string) *url.URL {
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
	t.Cleanup(b.Close)
	return mustURL(b.URL)
}

// h3Sites publishes two sites, a.example.com and b.example.com, each with its own
// certificate and a backend answering its name.
func h3Sites(t testing.TB, srv *Server, gen uint64) {
	a := testSite(t, "a", "a.example.com")
	a.Routes[0].Upstreams = []*url.URL{nameBackend(t, "site-a")}
	b := testSite(t, "b", "b.example.com")
	b.Routes[0].Upstreams = []*url.URL{nameBackend(t, "site-b")}
	publish(t, srv, gen, a, b)
}

func TestHTTP3SNIAnd421(t *testing.T) {
	log := &syncBuffer{}
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, AccessLog: NewAccessLogger(log, false)})
	h3Sites(t, srv, 1)
	if srv.HTTP3Addr() == nil || port(srv.HTTP3Addr()) != port(srv.Addr()) {
		t.Fatalf("HTTP3Addr = %v; want UDP on the HTTPS port %s", srv.HTTP3Addr(), port(srv.Addr()))
	}
	c, _ := h3Client(t, srv.HTTP3Addr())
	for _, name := range []string{"a", "b"} {
		status, body, resp := get(t, c, "https://"+name+".example.com/")
		if status != 200 || body != "site-"+name || resp.Proto != "HTTP/3.0" {
			t.Errorf("%s: %d %q %s; want 200 site-%s HTTP/3.0", name, status, body, resp.Proto, name)
		}
		if leaf := leafOf(*resp.TLS); leaf == nil || leaf.DNSNames[0] != name+".example.com" {
			t.Errorf("%s: certificate %v", name, leaf)
		}
		if resp.Header.Get("Alt-Svc") != "" {
			t.Errorf("%s: Alt-Svc on an HTTP/3 response: %q", name, resp.Header.Get("Alt-Svc"))
		}
	}
	// The 421 rule: b's Host on a connection whose SNI is a.
	status, _, _ := get(t, c, "https://a.example.com/", "Host", "b.example.com")
	if status != http.StatusMisdirectedRequest {
		t.Errorf("Host b on SNI a: %d; want 421", status)
	}
	if !strings.Contains(log.String(), "proto=h3") {
		t.Errorf("access log has no proto=h3 line:\n%s", log.String())
	}
	if n := h3Requests(t, srv); n != 3 {
		t.Errorf("%s{proto=\"h3\"} count = %v; want 3", metricDuration, n)
	}
}

// h3Requests returns the count of the request duration histogram for proto h3.
func h3Requests(t testing.TB, srv *Server) uint64 {
	t.Helper()
	mfs, err := srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != metricDuration {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "proto" && l.GetValue() == "h3" {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

func TestHTTP3UnknownSNIGetsNoCertificate(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	h3Sites(t, srv, 1)
	for _, name := range []string{"unknown.example.com", ""} {
		sawCert := false
		cfg := &tls.Config{ServerName: name, NextProtos: []string{http3.NextProtoH3}, InsecureSkipVerify: true,
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				sawCert = len(raw) > 0
				return nil
			}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := quic.DialAddr(ctx, srv.HTTP3Addr().String(), cfg, nil)
		cancel()
		if err == nil {
			conn.CloseWithError(0, "")
			t.Errorf("SNI %q: QUIC handshake succeeded; want refused", name)
		}
		if sawCert {
			t.Errorf("SNI %q: server sent a certificate", name)
		}
	}
	if n := handshakeFailures(t, srv, "unknown_sni"); n < 1 {
		t.Errorf("unknown_sni failures = %v; want >= 1", n)
	}
}

func TestAltSvc(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	h3Sites(t, srv, 1)
	_, _, resp := get(t, httpClient(t, srv.Addr(), false), "https://a.example.com/")
	want := fmt.Sprintf(`h3=":%s"; ma=86400`, port(srv.HTTP3Addr()))
	if got := resp.Header.Get("Alt-Svc"); got != want {
		t.Errorf("Alt-Svc = %q; want %q", got, want)
	}

	off := startServer(t, Options{HTTPListen: Off, AdminListen: Off, HTTP3: HTTP3Options{Disabled: true}})
	h3Sites(t, off, 1)
	_, _, resp = get(t, httpClient(t, off.Addr(), true), "https://a.example.com/")
	if got := resp.Header.Get("Alt-Svc"); got != "" {
		t.Errorf("HTTP/3 off: Alt-Svc = %q; want none", got)
	}
	if off.HTTP3Addr() != nil {
		t.Errorf("HTTP/3 off: HTTP3Addr = %v", off.HTTP3Addr())
	}
	// The UDP port is free: nothing of ours is bound there.
	pc, err := net.ListenPacket("udp", off.Addr().String())
	if err != nil {
		t.Fatalf("HTTP/3 off: UDP %s not free: %v", off.Addr(), err)
	}
	pc.Close()
}

// gatedBackend streams "part1", then waits for release, then writes "part2".
func gatedBackend(t testing.TB, entered chan<- struct{}, release <-chan struct{}) *url.URL {
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part1")
		w.(http.Flusher).Flush()
		entered <- struct{}{}
		<-release
		io.WriteString(w, "part2")
	}))
	t.Cleanup(b.Close)
	return mustURL(b.URL)
}

func TestHTTP3SwapDuringStream(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	entered, release := make(chan struct{}, 1), make(chan struct{})
	old := testSite(t, "a", "a.example.com")
	old.Routes[0].Upstreams = []*url.URL{gatedBackend(t, entered, release)}
	publish(t, srv, 1, old)
	c, _ := h3Client(t, srv.HTTP3Addr())

	resp, err := c.Get("https://a.example.com/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-entered
	next := testSite(t, "a", "a.example.com")
	next.Routes[0].Upstreams = []*url.URL{nameBackend(t, "new")}
	publish(t, srv, 2, next)
	close(release)
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "part1part2" {
		t.Fatalf("stream across the swap: %q, %v; want part1part2", body, err)
	}
	// The same connection now serves the new snapshot.
	if status, body, _ := get(t, c, "https://a.example.com/"); status != 200 || body != "new" {
		t.Errorf("after swap: %d %q; want 200 new", status, body)
	}
}

func TestHTTP3ShutdownDrains(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	entered, release := make(chan struct{}, 1), make(chan struct{})
	s := testSite(t, "a", "a.example.com")
	s.Routes[0].Upstreams = []*url.URL{gatedBackend(t, entered, release)}
	publish(t, srv, 1, s)
	c, _ := h3Client(t, srv.HTTP3Addr())
	h3addr := srv.HTTP3Addr().String()

	resp, err := c.Get("https://a.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-entered
	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown <- srv.Shutdown(ctx)
	}()
	// New QUIC connections are refused while the request in flight goes on.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := quic.DialAddr(ctx, h3addr, clientTLSH3(t, "a.example.com"), nil)
		cancel()
		if err != nil {
			break
		}
		conn.CloseWithError(0, "")
		if time.Now().After(deadline) {
			t.Fatal("QUIC still accepting during shutdown")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(release)
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "part1part2" {
		t.Errorf("request in flight during shutdown: %q, %v; want part1part2", body, err)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}

// clientTLSH3 is clientTLS with ALPN h3.
func clientTLSH3(t testing.TB, name string) *tls.Config {
	cfg := clientTLS(t, name)
	cfg.NextProtos = []string{http3.NextProtoH3}
	return cfg
}

func TestHTTP3No0RTT(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	h3Sites(t, srv, 1)
	cfg := clientTLSH3(t, "a.example.com")
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	c, _ := h3Client(t, srv.HTTP3Addr())
	c.Transport.(*http3.Transport).TLSClientConfig = cfg
	if status, _, _ := get(t, c, "https://a.example.com/"); status != 200 {
		t.Fatalf("first request: %d", status)
	}
	c.Transport.(*http3.Transport).Close() // the ticket stays in cfg's cache
	// Poll for the ticket (it arrives after the handshake), then dial early with it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := quic.DialAddrEarly(ctx, srv.HTTP3Addr().String(), cfg, &quic.Config{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		<-conn.HandshakeComplete()
		st := conn.ConnectionState()
		conn.CloseWithError(0, "")
		if st.TLS.DidResume {
			if st.Used0RTT {
				t.Fatal("0-RTT accepted; want refused")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no resumption: no ticket to attempt 0-RTT with")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHTTP3RetryAndConnCap(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, Limits: Limits{MaxConns: 1},
		HTTP3: HTTP3Options{AlwaysRetry: true}})
	h3Sites(t, srv, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first, err := quic.DialAddr(ctx, srv.HTTP3Addr().String(), clientTLSH3(t, "a.example.com"), nil)
	if err != nil {
		t.Fatalf("first connection (through Retry): %v", err)
	}
	defer first.CloseWithError(0, "")
	if n := srv.h3.conns.retries; testutil.ToFloat64(n) < 1 {
		t.Errorf("retries = %v; want >= 1", testutil.ToFloat64(n))
	}
	if _, err := quic.DialAddr(ctx, srv.HTTP3Addr().String(), clientTLSH3(t, "b.example.com"), nil); err == nil {
		t.Error("second connection beyond MaxConns=1 accepted")
	}
	if n := testutil.ToFloat64(srv.h3.conns.refused); n < 1 {
		t.Errorf("refused = %v; want >= 1", n)
	}
}

func TestRetryThreshold(t *testing.T) {
	c := newQUICConns(HTTP3Options{RetryThreshold: 2}, 0, prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"}), prometheus.NewRegistry())
	c.handshaking.Store(1)
	if c.verifySourceAddress(nil) {
		t.Error("Retry below the threshold")
	}
	c.handshaking.Store(2)
	if !c.verifySourceAddress(nil) {
		t.Error("no Retry at the threshold")
	}
}

func TestHTTP3SwapsUnderLoad(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	h3Sites(t, srv, 1)
	c, _ := h3Client(t, srv.HTTP3Addr())
	stop := make(chan struct{})
	type result struct{ ok, failed int }
	results := make(chan result, 4)
	var okCount atomic.Int64
	for range 4 {
		go func() {
			var r result
			for {
				select {
				case <-stop:
					results <- r
					return
				default:
				}
				resp, err := c.Get("https://a.example.com/")
				if err != nil {
					r.failed++
					t.Log(err)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || string(b) != "site-a" {
					r.failed++
					continue
				}
				r.ok++
				okCount.Add(1)
			}
		}()
	}
	// Swap (new sites, certificates and backends every time) until 50 swaps and 200
	// requests have both happened.
	deadline := time.Now().Add(60 * time.Second)
	for gen := uint64(2); gen < 52 || okCount.Load() < 200; gen++ {
		h3Sites(t, srv, gen)
		if time.Now().After(deadline) {
			break
		}
	}
	close(stop)
	var total result
	for range 4 {
		r := <-results
		total.ok += r.ok
		total.failed += r.failed
	}
	t.Logf("HTTP/3 during the swaps: %d requests ok, %d failed", total.ok, total.failed)
	if total.failed != 0 || total.ok == 0 {
		t.Errorf("HTTP/3 during swaps: %d ok, %d failed; want none failed", total.ok, total.failed)
	}
}

func TestHTTP3MaxHeaderBytes(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, Limits: Limits{MaxHeaderBytes: 4 << 10}})
	h3Sites(t, srv, 1)
	c, _ := h3Client(t, srv.HTTP3Addr())
	req, _ := http.NewRequest("GET", "https://a.example.com/", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 8<<10))
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Logf("8 KiB header with MaxHeaderBytes 4 KiB: %d", resp.StatusCode)
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("8 KiB header with MaxHeaderBytes 4 KiB: %d; want 431", resp.StatusCode)
		}
	} else {
		t.Logf("8 KiB header with MaxHeaderBytes 4 KiB: %v", err)
	}
	if status, _, _ := get(t, c, "https://a.example.com/"); status != 200 {
		t.Errorf("small request after the refused one: %d", status)
	}
}
