package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/edgetest"

	"github.com/edgectl/edge/edge/site"
)

// rawBackend is a misbehaving upstream on a real TCP socket (edgetest.RawBackend).
var rawBackend = edgetest.RawBackend

// observed serves h and sends the Info of every request, once the handler ended however
// it ended (an abort re-panics after the Info is sent, as edge does).
func observed(t testing.TB, h http.Handler) (*httptest.Server, <-chan Info) {
	t.Helper()
	infos := make(chan Info, 16)
	fe := front(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := new(Info)
		defer func() { infos <- *info }()
		h.ServeHTTP(w, r.WithContext(WithInfo(r.Context(), info)))
	}))
	return fe, infos
}

// errorCounter records Options.OnUpstreamError calls.
type errorCounter struct {
	mu   sync.Mutex
	errs []error
}

func (c *errorCounter) record(_ *url.URL, err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

func (c *errorCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.errs)
}

func recvInfo(t testing.TB, infos <-chan Info) Info {
	t.Helper()
	select {
	case info := <-infos:
		return info
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not end")
		return Info{}
	}
}

// rawRequest writes req on a new connection to fe and returns the connection.
func rawRequest(t testing.TB, fe *httptest.Server, req string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", fe.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return c
}

// readStatus reads the status code of the response on c.
func readStatus(t testing.TB, c net.Conn) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	// The body is left unread: closing it would read it to the end.
	return res.StatusCode
}

// TestAbortMidBodyReleasesInFlight: a client that leaves in the middle of the response
// body makes ReverseProxy abort (panic http.ErrAbortHandler); the upstream's in-flight
// count must still drop back, or least_conn avoids that upstream for good.
func TestAbortMidBodyReleasesInFlight(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write(make([]byte, 64<<10))
		w.(http.Flusher).Flush()
		<-release
	})
	m := newManager(t, Options{})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL}, Balance: site.LeastConn})
	fe, infos := observed(t, h)
	c := rawRequest(t, fe, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	if code := readStatus(t, c); code != 200 {
		t.Fatalf("status %d; want 200", code)
	}
	c.Close() // mid-body
	info := recvInfo(t, infos)
	if info.Outcome != OutcomeClientClosed {
		t.Errorf("Outcome = %q; want %q", info.Outcome, OutcomeClientClosed)
	}
	if n := h.targets[0].up.inflight.Load(); n != 0 {
		t.Errorf("in flight after the client left = %d; want 0", n)
	}
}

// TestUpstreamAbortMidBody: an upstream that closes its connection mid-body is the
// upstream's error, and the in-flight count is released.
func TestUpstreamAbortMidBody(t *testing.T) {
	u := rawBackend(t, func(c net.Conn, _ *bufio.Reader, _ *http.Request) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")
	})
	var ec errorCounter
	m := newManager(t, Options{OnUpstreamError: ec.record})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{u}})
	fe, infos := observed(t, h)
	res, err := fe.Client().Get(fe.URL)
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Fatal("the client got a whole response from an upstream that broke off mid-body")
	}
	info := recvInfo(t, infos)
	if info.Outcome != OutcomeUpstreamAborted {
		t.Errorf("Outcome = %q; want %q", info.Outcome, OutcomeUpstreamAborted)
	}
	if ec.count() != 1 {
		t.Errorf("OnUpstreamError calls = %d; want 1", ec.count())
	}
	if n := h.targets[0].up.inflight.Load(); n != 0 {
		t.Errorf("in flight = %d; want 0", n)
	}
}

// TestClientFaultsSpareTheUpstream: what the client breaks is answered 4xx (or recorded
// as client closed), never counted as an upstream error, never ejects, never retries.
func TestClientFaultsSpareTheUpstream(t *testing.T) {
	tests := []struct {
		name        string
		req         string // written raw; the connection is closed after it when status is 0
		wantStatus  int
		wantOutcome string
	}{
		{"malformed chunked body", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, OutcomeClientError},
		{"aborted upload", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nten bytes.", 0, OutcomeClientClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reading := make(chan struct{}, 1)
			b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
				reading <- struct{}{}
				io.ReadAll(r.Body)
				io.WriteString(w, "read")
			})
			spare := newBackend(t, named("spare"))
			var ec errorCounter
			m := newManager(t, Options{OnUpstreamError: ec.record})
			h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL, spare.URL}, Retries: 1})
			h.rr.Store(^uint64(0)) // the first pick is b
			fe, infos := observed(t, h)
			c := rawRequest(t, fe, tt.req)
			if tt.wantStatus != 0 {
				if code := readStatus(t, c); code != tt.wantStatus {
					t.Errorf("status %d; want %d", code, tt.wantStatus)
				}
			} else {
				<-reading // the upstream is reading the body: now the client leaves
				c.Close()
			}
			info := recvInfo(t, infos)
			if info.Outcome != tt.wantOutcome {
				t.Errorf("Outcome = %q; want %q", info.Outcome, tt.wantOutcome)
			}
			if ec.count() != 0 {
				t.Errorf("OnUpstreamError called %d times for the client's fault", ec.count())
			}
			if up := h.targets[0].up; up.fails.Load() != 0 || up.ejectedUntil.Load() != 0 {
				t.Errorf("the upstream was ejected for the client's fault")
			}
			if spare.hits.Load() != 0 {
				t.Errorf("the request was retried on another upstream")
			}
		})
	}
}

// TestBadUpstreamStatusIs502: a status outside 100-599 is the upstream's error, answered
// 502, instead of a handler panic (099) or an invalid status passed on (600).
func TestBadUpstreamStatusIs502(t *testing.T) {
	for _, status := range []string{"099", "600", "999"} {
		t.Run(status, func(t *testing.T) {
			u := rawBackend(t, func(c net.Conn, _ *bufio.Reader, _ *http.Request) {
				io.WriteString(c, "HTTP/1.1 "+status+" Weird\r\nContent-Length: 2\r\n\r\nhi")
			})
			var ec errorCounter
			m := newManager(t, Options{OnUpstreamError: ec.record})
			h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{u}})
			fe, infos := observed(t, h)
			if code, body := get(t, fe.Client(), fe.URL); code != 502 || body != "502 Bad Gateway\n" {
				t.Errorf("got %d %q; want 502", code, body)
			}
			info := recvInfo(t, infos)
			if info.Outcome != OutcomeUpstreamError || ec.count() != 1 {
				t.Errorf("Outcome %q, %d upstream errors; want %q, 1", info.Outcome, ec.count(), OutcomeUpstreamError)
			}
			if n := h.targets[0].up.inflight.Load(); n != 0 {
				t.Errorf("in flight = %d; want 0", n)
			}
		})
	}
}

// TestBodyIdleTimeout: an upload that stalls is cut after Timeouts: site.Timeouts{Body: 408 for the
// client}, the upstream request cancelled (its connection freed), the upstream not blamed.
func TestBodyIdleTimeout(t *testing.T) {
	bodyErr := make(chan error, 1)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		bodyErr <- err
	})
	var ec errorCounter
	m := newManager(t, Options{OnUpstreamError: ec.record})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL}, Timeouts: site.Timeouts{Body: 200 * time.Millisecond}})
	fe, infos := observed(t, h)
	c := rawRequest(t, fe, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
	if code := readStatus(t, c); code != http.StatusRequestTimeout {
		t.Errorf("status %d; want 408", code)
	}
	info := recvInfo(t, infos)
	if info.Outcome != OutcomeBodyTimeout {
		t.Errorf("Outcome = %q; want %q", info.Outcome, OutcomeBodyTimeout)
	}
	select {
	case err := <-bodyErr:
		if err == nil {
			t.Error("the upstream read a whole body")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
	if ec.count() != 0 || h.targets[0].up.fails.Load() != 0 {
		t.Errorf("the upstream was blamed for a stalled upload")
	}
}

// TestUpstreamNotTakingBodyIs504: an upstream that accepts a request but stops reading its
// body is the upstream's fault, not the client's: 504, an upstream error, not a 408. (The
// client keeps sending; net/http's response timeout only starts once the body is sent.)
func TestUpstreamNotTakingBodyIs504(t *testing.T) {
	release := make(chan struct{})
	up := rawBackend(t, func(c net.Conn, br *bufio.Reader, r *http.Request) { <-release })
	t.Cleanup(func() { close(release) }) // before rawBackend's cleanup waits for it
	var ec errorCounter
	m := newManager(t, Options{OnUpstreamError: ec.record})
	// The client sends as fast as it can; the timeout is long enough that a loaded machine
	// pausing the client's goroutine is never mistaken for the upstream's stall (a 408).
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{up}, Timeouts: site.Timeouts{Body: 3 * time.Second}})
	fe, infos := observed(t, h)
	res, err := fe.Client().Post(fe.URL, "application/octet-stream", bytes.NewReader(make([]byte, 64<<20)))
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("status %d; want 504", res.StatusCode)
		}
	} // else: the client saw the connection end while still sending; Info says why.
	info := recvInfo(t, infos)
	if info.Outcome != OutcomeUpstreamError || !errors.Is(info.Err, errBodyStalled) {
		t.Errorf("Outcome %q, Err %v; want %q with the stall", info.Outcome, info.Err, OutcomeUpstreamError)
	}
	if ec.count() != 1 {
		t.Errorf("%d upstream errors; want 1", ec.count())
	}
	if n := h.targets[0].up.inflight.Load(); n != 0 {
		t.Errorf("in flight = %d; want 0", n)
	}
}

// TestBodyTimeoutIsIdleNotTotal: a body that keeps arriving, slowly, is not cut.
func TestBodyTimeoutIsIdleNotTotal(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		io.WriteString(w, strings.Repeat("x", int(n)))
	})
	m := newManager(t, Options{})
	h := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{b.URL}, Timeouts: site.Timeouts{Body: 1500 * time.Millisecond}})
	fe, _ := observed(t, h)
	pr, pw := io.Pipe()
	go func() {
		// Total time well over the timeout, never idle for long (a gap ten times shorter
		// than the timeout): each chunk waits for the upstream to have read the previous one.
		for range 16 {
			pw.Write([]byte("chunk"))
			time.Sleep(150 * time.Millisecond)
		}
		pw.Close()
	}()
	res, err := fe.Client().Post(fe.URL, "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || len(body) != 80 {
		t.Fatalf("got %d with %d bytes; want 200 with 80", res.StatusCode, len(body))
	}
}

// TestForwardedPathIsCleaned: the upstream gets the cleaned path, never a dot-segment that
// would climb out of its base path, whatever the encoding.
func TestForwardedPathIsCleaned(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RequestURI)
	})
	base := *b.URL
	base.Path = "/v1"
	m := newManager(t, Options{})
	fe := front(t, mustHandler(t, m, site.Route{Path: "/api", StripPrefix: true, Upstreams: []*url.URL{&base}}))
	for req, want := range map[string]string{
		"/api/../api/x":        "/v1/x",
		"/api/%2e%2e/api/x":    "/v1/x",
		"/api/%2E%2E/api/x?q":  "/v1/x?q",
		"/api/x/..%2f..%2fy":   "/v1/y",
		"/api/a%2Fb":           "/v1/a%2Fb",
		"/api/x/./y//z/":       "/v1/x/y/z/",
		"/api/../../../etc/pw": "/v1/etc/pw",
	} {
		c := rawRequest(t, fe, "GET "+req+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(got) != want {
			t.Errorf("GET %s reached the upstream as %q; want %q", req, got, want)
		}
	}
}

// TestDropForwardedUnderscores: forwarding headers spelled with underscores, which CGI-style
// apps read as the hyphenated ones, are dropped from an untrusted client like the others;
// other headers with underscores stay.
func TestDropForwardedUnderscores(t *testing.T) {
	hdr := http.Header{
		"X_forwarded_for": {"6.6.6.6"},
		"X_Real_IP":       {"6.6.6.6"},
		"True_client_ip":  {"6.6.6.6"},
		"X-Forwarded-Foo": {"x"},
		"My_App_Header":   {"keep"},
		"Accept":          {"*/*"},
	}
	dropForwarded(hdr)
	if len(hdr) != 2 || hdr["My_App_Header"] == nil || hdr["Accept"] == nil {
		t.Errorf("headers left: %v; want only My_App_Header and Accept", hdr)
	}
}
