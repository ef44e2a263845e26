package edge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/proxy"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/edgectl/edge/edge/site"
)

// faultServer serves the site "shop" (shop.example.com) whose one route "/" goes to
// upstream, changed by mod, and returns the server and its JSON access log.
func faultServer(t *testing.T, upstream *url.URL, mod func(*site.Route)) (*Server, *syncBuffer) {
	t.Helper()
	var buf syncBuffer
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, AccessLog: NewAccessLogger(&buf, true)})
	site := testSite(t, "shop", "shop.example.com")
	site.Routes[0].Upstreams = []*url.URL{upstream}
	if mod != nil {
		mod(&site.Routes[0])
	}
	publish(t, srv, 1, site)
	return srv, &buf
}

// accessLines waits for n access log lines (the observation of n finished requests) and
// returns them.
func accessLines(t *testing.T, buf *syncBuffer, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		text := strings.TrimSpace(buf.String())
		var lines []string
		if text != "" {
			lines = strings.Split(text, "\n")
		}
		if len(lines) >= n {
			out := make([]map[string]any, len(lines))
			for i, l := range lines {
				if err := json.Unmarshal([]byte(l), &out[i]); err != nil {
					t.Fatal(err)
				}
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d access log lines after 10s; want %d (requests not observed):\n%s", len(lines), n, text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metricValue returns the value of the counter or gauge name with the given labels (0 if
// absent).
func metricValue(t *testing.T, srv *Server, name string, labels map[string]string) float64 {
	t.Helper()
	m := findSeries(t, srv, name, labels)
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

// findSeries returns the series of the metric name whose labels include labels, or nil.
func findSeries(t *testing.T, srv *Server, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	mfs, err := srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			return m
		}
	}
	return nil
}

// checkUpstreamSpared fails unless no upstream error was counted for shop and every
// upstream is neither ejected nor holding a request.
func checkUpstreamSpared(t *testing.T, srv *Server) {
	t.Helper()
	if n := metricValue(t, srv, metricUpstreamErrors, map[string]string{"site": "shop"}); n != 0 {
		t.Errorf("%s{site=shop} = %v; want 0: the client's doing", metricUpstreamErrors, n)
	}
	for _, u := range srv.proxy.Upstreams() {
		if u.Failures != 0 || !u.EjectedUntil.IsZero() || u.InFlight != 0 {
			t.Errorf("upstream %s: %d failures, ejected until %v, %d in flight; want 0, none, 0",
				u.URL, u.Failures, u.EjectedUntil, u.InFlight)
		}
	}
}

// streamingBackend sends 64 KiB of a 1 MB body and then waits for the test to end.
func streamingBackend(t *testing.T) *url.URL {
	release := make(chan struct{})
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write(make([]byte, 64<<10))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(b.Close)
	t.Cleanup(func() { close(release) }) // runs first
	return mustURL(b.URL)
}

// TestClientAbortMidBodyIsObserved: a client leaving mid-body (HTTP/2 RST_STREAM, or an
// HTTP/1.1 connection closed) ends the handler with http.ErrAbortHandler. The request is
// still logged and counted (as client_closed, not an upstream error) and the upstream's
// in-flight count is released.
func TestClientAbortMidBodyIsObserved(t *testing.T) {
	for _, h1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "h2", true: "http/1.1"}[h1], func(t *testing.T) {
			srv, buf := faultServer(t, streamingBackend(t), func(r *site.Route) { r.Balance = "least_conn" })
			c := httpClient(t, srv.Addr(), h1)
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", "https://shop.example.com/big", nil)
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(res.Body, make([]byte, 1024)); err != nil {
				t.Fatal(err)
			}
			cancel() // mid-body
			res.Body.Close()
			line := accessLines(t, buf, 1)[0]
			if line["outcome"] != proxy.OutcomeClientClosed || line["status"] != float64(200) {
				t.Errorf("access log: status %v, outcome %v; want 200, client_closed", line["status"], line["outcome"])
			}
			if n := metricValue(t, srv, metricRequests, map[string]string{"site": "shop", "class": "client_closed"}); n != 1 {
				t.Errorf("client_closed requests = %v; want 1", n)
			}
			checkUpstreamSpared(t, srv)
		})
	}
}

// rawBackend is a misbehaving upstream on a real TCP socket: answer is written after the
// request headers were read, then the connection is closed.
func rawBackend(t *testing.T, answer string) *url.URL {
	return edgetest.RawBackend(t, func(c net.Conn, _ *bufio.Reader, _ *http.Request) { io.WriteString(c, answer) })
}

// TestUpstreamAbortMidBodyIsObserved: an upstream closing mid-body is logged and counted
// as the upstream's error.
func TestUpstreamAbortMidBodyIsObserved(t *testing.T) {
	srv, buf := faultServer(t, rawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten.."), nil)
	c := httpClient(t, srv.Addr(), false)
	res, err := c.Get("https://shop.example.com/")
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Error("the client got a whole response from an upstream that broke off mid-body")
	}
	line := accessLines(t, buf, 1)[0]
	if line["outcome"] != proxy.OutcomeUpstreamAborted {
		t.Errorf("access log outcome %v; want upstream_aborted", line["outcome"])
	}
	if n := metricValue(t, srv, metricUpstreamErrors, map[string]string{"site": "shop"}); n != 1 {
		t.Errorf("upstream errors = %v; want 1", n)
	}
}

// TestBadUpstreamStatusThroughEdge: status 099 from an upstream is a 502, not a handler
// panic that drops the stream.
func TestBadUpstreamStatusThroughEdge(t *testing.T) {
	srv, buf := faultServer(t, rawBackend(t, "HTTP/1.1 099 Weird\r\nContent-Length: 0\r\n\r\n"), nil)
	c := httpClient(t, srv.Addr(), false)
	res, err := c.Get("https://shop.example.com/")
	if err != nil {
		t.Fatalf("status 099 from the upstream: %v; want a 502", err)
	}
	res.Body.Close()
	if res.StatusCode != 502 {
		t.Errorf("status %d; want 502", res.StatusCode)
	}
	if line := accessLines(t, buf, 1)[0]; line["outcome"] != proxy.OutcomeUpstreamError {
		t.Errorf("access log outcome %v; want upstream_error", line["outcome"])
	}
}

// TestCancelledStreamsSpareTheUpstream: HTTP/2 streams reset by the client while the
// upstream works on them are client_closed (499), never upstream errors or ejections.
func TestCancelledStreamsSpareTheUpstream(t *testing.T) {
	arrived := make(chan struct{}, 1)
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done() // the proxy cancels the upstream request
	}))
	t.Cleanup(b.Close)
	srv, buf := faultServer(t, mustURL(b.URL), nil)
	c := newH2Conn(t, srv)
	const streams = 20
	for i := range streams {
		id := uint32(1 + 2*i)
		c.wmu.Lock()
		err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.headers("/"), EndStream: true, EndHeaders: true})
		c.wmu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-arrived: // the upstream has the request: now the client gives up on it
		case <-time.After(10 * time.Second):
			t.Fatal("the request did not reach the upstream")
		}
		c.wmu.Lock()
		c.fr.WriteRSTStream(id, http2.ErrCodeCancel)
		c.wmu.Unlock()
	}
	for _, line := range accessLines(t, buf, streams) {
		if line["status"] != float64(proxy.StatusClientClosed) || line["outcome"] != proxy.OutcomeClientClosed {
			t.Errorf("access log: status %v, outcome %v; want 499, client_closed", line["status"], line["outcome"])
		}
	}
	if n := metricValue(t, srv, metricRequests, map[string]string{"site": "shop", "class": "client_closed"}); n != streams {
		t.Errorf("client_closed requests = %v; want %d", n, streams)
	}
	checkUpstreamSpared(t, srv)
}

// TestInvalidH2RequestIs400: HTTP/2 lets any :method and :authority through, which the
// proxy's transport refuses: that is the client's error (400), not the upstream's.
func TestInvalidH2RequestIs400(t *testing.T) {
	for _, tc := range []struct{ name, method, authority string }{
		{"method", "GE T", "shop.example.com"},
		{"authority", "GET", "shop example"}, // answered by the default site
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf syncBuffer
			srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off, AccessLog: NewAccessLogger(&buf, true)})
			// The default site, whose certificate also covers the name the raw client
			// sends as SNI: that SNI is unknown, so any Host is the default site's.
			site := testSite(t, "shop", "default.example.com")
			site.Certificates = []tls.Certificate{cert(t, "default.example.com", "shop.example.com")}
			site.Default = true
			site.Routes[0].Upstreams = []*url.URL{edgetest.Backend(t, "shop")}
			publish(t, srv, 1, site)
			c := newH2Conn(t, srv)
			var block bytes.Buffer
			enc := hpack.NewEncoder(&block)
			for _, f := range []hpack.HeaderField{
				{Name: ":method", Value: tc.method}, {Name: ":scheme", Value: "https"},
				{Name: ":authority", Value: tc.authority}, {Name: ":path", Value: "/"},
			} {
				enc.WriteField(f)
			}
			c.wmu.Lock()
			err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
			c.wmu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			line := accessLines(t, &buf, 1)[0]
			if line["status"] != float64(400) || line["outcome"] != proxy.OutcomeClientError {
				t.Errorf("access log: status %v, outcome %v; want 400, client_error", line["status"], line["outcome"])
			}
			checkUpstreamSpared(t, srv)
		})
	}
}

// TestForwardedPathThroughEdge: with strip_prefix and an upstream base path, the upstream
// gets the cleaned path the route matched, never a dot-segment out of its base path.
func TestForwardedPathThroughEdge(t *testing.T) {
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RequestURI)
	}))
	t.Cleanup(b.Close)
	base := mustURL(b.URL + "/v1")
	srv, _ := faultServer(t, base, func(r *site.Route) { r.Path, r.StripPrefix = "/api", true })
	c := httpClient(t, srv.Addr(), false)
	for req, want := range map[string]string{
		"/api/../api/x":     "/v1/x",
		"/api/%2e%2e/api/x": "/v1/x",
		"/api/x":            "/v1/x",
	} {
		if status, body, _ := get(t, c, "https://shop.example.com"+req); status != 200 || body != want {
			t.Errorf("GET %s reached the upstream as %d %q; want 200 %q", req, status, body, want)
		}
	}
}

// TestStalledUploadIs408: an upload that stops sending is cut after the route's
// BodyTimeout: the client gets 408, the upstream connection is freed, nobody blames
// the upstream.
func TestStalledUploadIs408(t *testing.T) {
	for _, h1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "h2", true: "http/1.1"}[h1], func(t *testing.T) {
			bodyErr := make(chan error, 1)
			b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err := io.ReadAll(r.Body)
				bodyErr <- err
			}))
			t.Cleanup(b.Close)
			srv, buf := faultServer(t, mustURL(b.URL), func(r *site.Route) { r.Timeouts.Body = 200 * time.Millisecond })
			c := httpClient(t, srv.Addr(), h1)
			pr, pw := io.Pipe()
			t.Cleanup(func() { pw.Close() })
			go pw.Write([]byte("the start of a body that never ends"))
			req, _ := http.NewRequest("POST", "https://shop.example.com/upload", pr)
			req.ContentLength = 1 << 20
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusRequestTimeout {
				t.Errorf("status %d; want 408", res.StatusCode)
			}
			select {
			case err := <-bodyErr:
				if err == nil {
					t.Error("the upstream read a whole body")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream request was not cancelled")
			}
			if line := accessLines(t, buf, 1)[0]; line["outcome"] != proxy.OutcomeBodyTimeout {
				t.Errorf("access log outcome %v; want body_timeout", line["outcome"])
			}
			checkUpstreamSpared(t, srv)
		})
	}
}

// TestInformationalFloodIsCapped: an upstream sending 1xx after 1xx gets only a few of
// them passed on to the client, then its final response.
func TestInformationalFloodIsCapped(t *testing.T) {
	flood := strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </x.css>; rel=preload\r\n\r\n", 1000)
	srv, _ := faultServer(t, rawBackend(t, flood+"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), nil)
	for _, h1 := range []bool{false, true} {
		c := httpClient(t, srv.Addr(), h1)
		var infos int
		trace := &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error { infos++; return nil }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "https://shop.example.com/", nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || string(body) != "ok" {
			t.Errorf("h1=%v: got %d %q; want 200 ok", h1, res.StatusCode, body)
		}
		if infos == 0 || infos > maxInformational {
			t.Errorf("h1=%v: %d informational responses passed on; want 1 to %d", h1, infos, maxInformational)
		}
	}
}

// TestH2GetRetriedAfterReset: an HTTP/2 GET has a Body (empty, length 0) but is still a
// bodiless idempotent request: retried on another upstream after a connection reset.
func TestH2GetRetriedAfterReset(t *testing.T) {
	reset := rawBackend(t, "") // reads the request, closes without answering
	srv, _ := faultServer(t, reset, func(r *site.Route) {
		r.Upstreams = append(r.Upstreams, edgetest.Backend(t, "ok"))
		r.Retries = 1
	})
	c := httpClient(t, srv.Addr(), false)
	for range 2 { // round robin: one of the two tries the resetting upstream first
		if status, body, _ := get(t, c, "https://shop.example.com/"); status != 200 || !strings.HasPrefix(body, "ok GET") {
			t.Errorf("got %d %q; want 200 from the other upstream", status, body)
		}
	}
}
