package edge

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestAdminEndpoints(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off})
	srv.AdminMux().HandleFunc("/status", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "agent status") })
	admin := "http://" + srv.AdminAddr().String()
	fetch := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := fetch("/healthz"); code != 200 {
		t.Errorf("/healthz = %d; want 200", code)
	}
	if code, body := fetch("/readyz"); code != 503 || !strings.Contains(body, "no snapshot") {
		t.Errorf("/readyz before a snapshot = %d %q; want 503", code, body)
	}
	if code, body := fetch("/status"); code != 200 || body != "agent status" {
		t.Errorf("mounted /status = %d %q", code, body)
	}

	shop, blog, apps := routingSites(t)
	publish(t, srv, 42, shop, blog, apps)
	if code, body := fetch("/readyz"); code != 200 || !strings.Contains(body, "generation=42") {
		t.Errorf("/readyz after a swap = %d %q; want 200 generation=42", code, body)
	}
	// Traffic to count: a request, a 421, a refused handshake.
	c := httpClient(t, srv.Addr(), false)
	get(t, c, "https://shop.example.com/")
	get(t, c, "https://shop.example.com/", "Host", "blog.example.com")
	handshake(t, srv.Addr(), &tls.Config{ServerName: "nobody.example.com"})

	_, metrics := fetch("/metrics")
	for _, want := range []string{
		`edge_snapshot_generation 42`,
		`edge_snapshot_sites 3`,
		`edge_http_requests_total{class="2xx",site="shop"} 1`,
		`edge_http_requests_total{class="4xx",site="-"} 1`,
		`edge_http_responses_total{code="421"} 1`,
		`edge_tls_handshake_errors_total{reason="unknown_sni"} 1`,
		`edge_certificate_expiry_seconds{site="blog"}`,
		`edge_connections_open{listener="https"}`,
		`go_goroutines`,
		`go_gc_scan_heap_bytes `,
		`go_gc_heap_live_bytes `,
		`go_cpu_classes_gc_total_cpu_seconds_total `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(metrics, "edge_tls_handshakes_total ") || strings.Contains(metrics, "edge_tls_handshakes_total 0") {
		t.Error("/metrics: no completed handshake counted")
	}

	// Removing a site removes its series.
	publish(t, srv, 43, blog, apps)
	if _, metrics = fetch("/metrics"); strings.Contains(metrics, `site="shop"`) {
		t.Error("/metrics still has series of the removed site shop")
	}

	// Draining turns /readyz to 503 while the admin listener still answers.
	go srv.Shutdown(t.Context())
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(admin + "/readyz")
		if err != nil {
			return // admin listener closed after draining: fine
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("/readyz stayed 200 during shutdown")
}

func TestHandshakeFailureReason(t *testing.T) {
	for msg, want := range map[string]string{
		"tls: no certificates configured":                "",
		"read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout": "timeout",
		"EOF":                                "eof",
		"read tcp: connection reset by peer": "eof",
		"tls: client offered only unsupported versions: [302]":     "protocol_version",
		"tls: no cipher suite supported by both client and server": "no_shared_cipher",
		"remote error: tls: bad certificate":                       "remote_alert",
		"tls: first record does not look like a TLS handshake":     "not_tls",
		"something new": "other",
	} {
		if got := handshakeFailureReason(msg); got != want {
			t.Errorf("handshakeFailureReason(%q) = %q; want %q", msg, got, want)
		}
	}
}

// TestErrorLogNamesUnknownSNI: crypto/tls reports refuseConfig's refusal as "no
// certificates configured"; the log line says what happened instead, and the failure is not
// counted a second time.
func TestErrorLogNamesUnknownSNI(t *testing.T) {
	var buf bytes.Buffer
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "f"}, []string{"reason"})
	l := serverErrorLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), failures, "https")
	l.Print("http: TLS handshake error from 127.0.0.1:5555: tls: no certificates configured")
	out := buf.String()
	if !strings.Contains(out, "reason=unknown_sni") || !strings.Contains(out, "no site serves the server name the client asked for") {
		t.Errorf("log line %q; want reason unknown_sni and a plain explanation", out)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(failures)
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 0 {
		t.Errorf("failures counted: %v (err %v); want none (counted when refused)", mfs, err)
	}
}
