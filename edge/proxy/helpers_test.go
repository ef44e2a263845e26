package proxy

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// backend is a real upstream server counting the TCP connections it accepted.
type backend struct {
	*httptest.Server
	URL   *url.URL
	conns atomic.Int64 // connections accepted
	hits  atomic.Int64 // requests served
}

func newBackend(t testing.TB, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		h(w, r)
	}))
	b.Server.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	b.URL = mustURL(t, b.Server.URL)
	return b
}

// named answers every request with its name.
func named(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newManager returns a Manager logging to the test log, closed at cleanup.
func newManager(t testing.TB, o Options) *Manager {
	t.Helper()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m := NewManager(o)
	t.Cleanup(func() { m.Close() })
	return m
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// front serves h on a real loopback listener, as edge's listener would.
func front(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// mustHandler returns m's handler of route r, unnamed (its log lines show its path).
func mustHandler(t testing.TB, m *Manager, r site.Route) *Handler {
	t.Helper()
	return mustNamedHandler(t, m, "", r)
}

// mustNamedHandler returns m's handler of route r named name.
func mustNamedHandler(t testing.TB, m *Manager, name string, r site.Route) *Handler {
	t.Helper()
	h, err := m.Handler(name, &r)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// get fetches url and returns status and body.
func get(t testing.TB, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", u, err)
	}
	return res.StatusCode, string(b)
}

// eventually polls cond every 10ms for at most d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deadURL returns an http URL on a loopback port nothing listens on.
func deadURL(t testing.TB) *url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return &url.URL{Scheme: "http", Host: addr}
}
